"""National tracking: motion and measurement models, the EKF/IMM filters and each nation's tracker."""
