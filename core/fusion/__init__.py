"""Track-to-track fusion: time alignment, association, covariance intersection and the fusion engine."""
