"""Array layout of the tracking filter: the state vector's indices and the sensor parameter rows.

Glossary (SI units; the filter works on arrays of tracks, struct of arrays, C-contiguous)
-----------------------------------------------------------------------------------------
- state ``x`` (n, 10): ``[x, y, z, vx, vy, vz, θ, ax, ay, az]`` ECEF (WGS-84) position (m), velocity (m/s),
  θ = ln β with β = m/(C_D A) the ballistic coefficient (kg/m²), and the thrust acceleration a_T (m/s², ECEF
  axes). The first six are the public track state.
- ``P`` (n, 10, 10): covariance; ``t_s`` (n,): time of validity of each track, scenario seconds.
- sensor parameter row ``sp`` (SP_LEN,), built by :func:`.measurement.radar_row` or :func:`.measurement.ir_row`:
  ``sp[0]`` the kind (KIND_RADAR, KIND_IR), ``sp[1:4]`` the sensor's ECEF position (m), ``sp[4:6]`` a radar's
  geodetic latitude and longitude (rad), ``sp[6]`` the measurement dimension, ``sp[7:11]`` the noise standard
  deviations per component, ``sp[11:20]`` an infrared sensor's unit axes X, Y, Z (ECEF), ``sp[I_BIAS:]`` the
  registration-bias standard deviations per component.
- registration biases are considered, not estimated (Schmidt-Kalman): the ``*_with_bias`` kernels carry
  C (s, 10, MAX_Z), the cross-covariance of the state error (truth − estimate) with each sensor's bias, so
  that P stays the covariance of the actual error although a bias does not average out over scans
  (:func:`.ekf.update_one_with_bias`).
"""

from __future__ import annotations

NX = 10  # filter state dimension
I_THETA = 6  # index of θ = ln β
I_ACC = 7  # first index of the thrust acceleration (3)
MAX_Z = 4  # largest measurement dimension (radar with range rate)
KIND_RADAR = 0
KIND_IR = 1
SP_LEN = 24  # length of a sensor parameter row
I_BIAS = 20  # first index of the registration-bias standard deviations in a sensor row (MAX_Z)
