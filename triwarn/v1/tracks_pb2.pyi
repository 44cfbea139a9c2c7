from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Nation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NATION_UNSPECIFIED: _ClassVar[Nation]
    NATION_US: _ClassVar[Nation]
    NATION_JP: _ClassVar[Nation]
    NATION_KR: _ClassVar[Nation]

class FlightPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FLIGHT_PHASE_UNSPECIFIED: _ClassVar[FlightPhase]
    FLIGHT_PHASE_BOOST: _ClassVar[FlightPhase]
    FLIGHT_PHASE_MIDCOURSE: _ClassVar[FlightPhase]
    FLIGHT_PHASE_TERMINAL: _ClassVar[FlightPhase]

class TrackStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACK_STATUS_UNSPECIFIED: _ClassVar[TrackStatus]
    TRACK_STATUS_CONFIRMED: _ClassVar[TrackStatus]
    TRACK_STATUS_COASTING: _ClassVar[TrackStatus]
    TRACK_STATUS_DELETED: _ClassVar[TrackStatus]
NATION_UNSPECIFIED: Nation
NATION_US: Nation
NATION_JP: Nation
NATION_KR: Nation
FLIGHT_PHASE_UNSPECIFIED: FlightPhase
FLIGHT_PHASE_BOOST: FlightPhase
FLIGHT_PHASE_MIDCOURSE: FlightPhase
FLIGHT_PHASE_TERMINAL: FlightPhase
TRACK_STATUS_UNSPECIFIED: TrackStatus
TRACK_STATUS_CONFIRMED: TrackStatus
TRACK_STATUS_COASTING: TrackStatus
TRACK_STATUS_DELETED: TrackStatus

class CartesianState(_message.Message):
    __slots__ = ("x_m", "y_m", "z_m", "vx_m_s", "vy_m_s", "vz_m_s", "covariance_upper")
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    Z_M_FIELD_NUMBER: _ClassVar[int]
    VX_M_S_FIELD_NUMBER: _ClassVar[int]
    VY_M_S_FIELD_NUMBER: _ClassVar[int]
    VZ_M_S_FIELD_NUMBER: _ClassVar[int]
    COVARIANCE_UPPER_FIELD_NUMBER: _ClassVar[int]
    x_m: float
    y_m: float
    z_m: float
    vx_m_s: float
    vy_m_s: float
    vz_m_s: float
    covariance_upper: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, x_m: _Optional[float] = ..., y_m: _Optional[float] = ..., z_m: _Optional[float] = ..., vx_m_s: _Optional[float] = ..., vy_m_s: _Optional[float] = ..., vz_m_s: _Optional[float] = ..., covariance_upper: _Optional[_Iterable[float]] = ...) -> None: ...

class LocalTrack(_message.Message):
    __slots__ = ("local_track_number", "time_ns", "state", "phase", "quality", "sensor_ids", "status", "ballistic_coefficient_kg_m2", "last_update_ns", "estimated_objects")
    LOCAL_TRACK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    SENSOR_IDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BALLISTIC_COEFFICIENT_KG_M2_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_NS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    local_track_number: int
    time_ns: int
    state: CartesianState
    phase: FlightPhase
    quality: float
    sensor_ids: _containers.RepeatedScalarFieldContainer[str]
    status: TrackStatus
    ballistic_coefficient_kg_m2: float
    last_update_ns: int
    estimated_objects: int
    def __init__(self, local_track_number: _Optional[int] = ..., time_ns: _Optional[int] = ..., state: _Optional[_Union[CartesianState, _Mapping]] = ..., phase: _Optional[_Union[FlightPhase, str]] = ..., quality: _Optional[float] = ..., sensor_ids: _Optional[_Iterable[str]] = ..., status: _Optional[_Union[TrackStatus, str]] = ..., ballistic_coefficient_kg_m2: _Optional[float] = ..., last_update_ns: _Optional[int] = ..., estimated_objects: _Optional[int] = ...) -> None: ...

class LocalTrackBatch(_message.Message):
    __slots__ = ("nation", "node_id", "batch_seq", "bd_seq", "sent_time_ns", "tracks", "signature")
    NATION_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_SEQ_FIELD_NUMBER: _ClassVar[int]
    BD_SEQ_FIELD_NUMBER: _ClassVar[int]
    SENT_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    TRACKS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    nation: Nation
    node_id: str
    batch_seq: int
    bd_seq: int
    sent_time_ns: int
    tracks: _containers.RepeatedCompositeFieldContainer[LocalTrack]
    signature: Signature
    def __init__(self, nation: _Optional[_Union[Nation, str]] = ..., node_id: _Optional[str] = ..., batch_seq: _Optional[int] = ..., bd_seq: _Optional[int] = ..., sent_time_ns: _Optional[int] = ..., tracks: _Optional[_Iterable[_Union[LocalTrack, _Mapping]]] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ...) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ("nation", "node_id", "kind", "bd_seq", "time_ns", "sensor_ids", "update_period_s", "signature")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[NodeStatus.Kind]
        KIND_BIRTH: _ClassVar[NodeStatus.Kind]
        KIND_DEATH: _ClassVar[NodeStatus.Kind]
    KIND_UNSPECIFIED: NodeStatus.Kind
    KIND_BIRTH: NodeStatus.Kind
    KIND_DEATH: NodeStatus.Kind
    NATION_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BD_SEQ_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    SENSOR_IDS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_PERIOD_S_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    nation: Nation
    node_id: str
    kind: NodeStatus.Kind
    bd_seq: int
    time_ns: int
    sensor_ids: _containers.RepeatedScalarFieldContainer[str]
    update_period_s: float
    signature: Signature
    def __init__(self, nation: _Optional[_Union[Nation, str]] = ..., node_id: _Optional[str] = ..., kind: _Optional[_Union[NodeStatus.Kind, str]] = ..., bd_seq: _Optional[int] = ..., time_ns: _Optional[int] = ..., sensor_ids: _Optional[_Iterable[str]] = ..., update_period_s: _Optional[float] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ("key_id", "ed25519")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ED25519_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    ed25519: bytes
    def __init__(self, key_id: _Optional[str] = ..., ed25519: _Optional[bytes] = ...) -> None: ...

class SignedTail(_message.Message):
    __slots__ = ("signature",)
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    signature: Signature
    def __init__(self, signature: _Optional[_Union[Signature, _Mapping]] = ...) -> None: ...
