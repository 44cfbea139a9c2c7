from triwarn.v1 import release_pb2 as _release_pb2
from triwarn.v1 import tracks_pb2 as _tracks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MissileClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MISSILE_CLASS_UNSPECIFIED: _ClassVar[MissileClass]
    MISSILE_CLASS_SRBM: _ClassVar[MissileClass]
    MISSILE_CLASS_MRBM: _ClassVar[MissileClass]
    MISSILE_CLASS_IRBM: _ClassVar[MissileClass]
    MISSILE_CLASS_ICBM: _ClassVar[MissileClass]

class WarningLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WARNING_LEVEL_UNSPECIFIED: _ClassVar[WarningLevel]
    WARNING_LEVEL_NONE: _ClassVar[WarningLevel]
    WARNING_LEVEL_ADVISORY: _ClassVar[WarningLevel]
    WARNING_LEVEL_WATCH: _ClassVar[WarningLevel]
    WARNING_LEVEL_WARNING: _ClassVar[WarningLevel]

class AreaKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AREA_KIND_UNSPECIFIED: _ClassVar[AreaKind]
    AREA_KIND_JP_LAND: _ClassVar[AreaKind]
    AREA_KIND_KR_LAND: _ClassVar[AreaKind]
    AREA_KIND_JP_EEZ: _ClassVar[AreaKind]
    AREA_KIND_JP_OVERFLIGHT: _ClassVar[AreaKind]
    AREA_KIND_KR_OVERFLIGHT: _ClassVar[AreaKind]
MISSILE_CLASS_UNSPECIFIED: MissileClass
MISSILE_CLASS_SRBM: MissileClass
MISSILE_CLASS_MRBM: MissileClass
MISSILE_CLASS_IRBM: MissileClass
MISSILE_CLASS_ICBM: MissileClass
WARNING_LEVEL_UNSPECIFIED: WarningLevel
WARNING_LEVEL_NONE: WarningLevel
WARNING_LEVEL_ADVISORY: WarningLevel
WARNING_LEVEL_WATCH: WarningLevel
WARNING_LEVEL_WARNING: WarningLevel
AREA_KIND_UNSPECIFIED: AreaKind
AREA_KIND_JP_LAND: AreaKind
AREA_KIND_KR_LAND: AreaKind
AREA_KIND_JP_EEZ: AreaKind
AREA_KIND_JP_OVERFLIGHT: AreaKind
AREA_KIND_KR_OVERFLIGHT: AreaKind

class ErrorEllipse(_message.Message):
    __slots__ = ("semi_major_m", "semi_minor_m", "orientation_deg", "confidence")
    SEMI_MAJOR_M_FIELD_NUMBER: _ClassVar[int]
    SEMI_MINOR_M_FIELD_NUMBER: _ClassVar[int]
    ORIENTATION_DEG_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    confidence: float
    def __init__(self, semi_major_m: _Optional[float] = ..., semi_minor_m: _Optional[float] = ..., orientation_deg: _Optional[float] = ..., confidence: _Optional[float] = ...) -> None: ...

class LaunchPointEstimate(_message.Message):
    __slots__ = ("valid", "lat_deg", "lon_deg", "launch_time_ns", "launch_time_sigma_s", "ellipse")
    VALID_FIELD_NUMBER: _ClassVar[int]
    LAT_DEG_FIELD_NUMBER: _ClassVar[int]
    LON_DEG_FIELD_NUMBER: _ClassVar[int]
    LAUNCH_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    LAUNCH_TIME_SIGMA_S_FIELD_NUMBER: _ClassVar[int]
    ELLIPSE_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    lat_deg: float
    lon_deg: float
    launch_time_ns: int
    launch_time_sigma_s: float
    ellipse: ErrorEllipse
    def __init__(self, valid: _Optional[bool] = ..., lat_deg: _Optional[float] = ..., lon_deg: _Optional[float] = ..., launch_time_ns: _Optional[int] = ..., launch_time_sigma_s: _Optional[float] = ..., ellipse: _Optional[_Union[ErrorEllipse, _Mapping]] = ...) -> None: ...

class ImpactCorridor(_message.Message):
    __slots__ = ("valid", "near_lat_deg", "near_lon_deg", "far_lat_deg", "far_lon_deg")
    VALID_FIELD_NUMBER: _ClassVar[int]
    NEAR_LAT_DEG_FIELD_NUMBER: _ClassVar[int]
    NEAR_LON_DEG_FIELD_NUMBER: _ClassVar[int]
    FAR_LAT_DEG_FIELD_NUMBER: _ClassVar[int]
    FAR_LON_DEG_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    near_lat_deg: float
    near_lon_deg: float
    far_lat_deg: float
    far_lon_deg: float
    def __init__(self, valid: _Optional[bool] = ..., near_lat_deg: _Optional[float] = ..., near_lon_deg: _Optional[float] = ..., far_lat_deg: _Optional[float] = ..., far_lon_deg: _Optional[float] = ...) -> None: ...

class ImpactPrediction(_message.Message):
    __slots__ = ("valid", "lat_deg", "lon_deg", "impact_time_ns", "impact_time_sigma_s", "ellipse", "corridor")
    VALID_FIELD_NUMBER: _ClassVar[int]
    LAT_DEG_FIELD_NUMBER: _ClassVar[int]
    LON_DEG_FIELD_NUMBER: _ClassVar[int]
    IMPACT_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    IMPACT_TIME_SIGMA_S_FIELD_NUMBER: _ClassVar[int]
    ELLIPSE_FIELD_NUMBER: _ClassVar[int]
    CORRIDOR_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    lat_deg: float
    lon_deg: float
    impact_time_ns: int
    impact_time_sigma_s: float
    ellipse: ErrorEllipse
    corridor: ImpactCorridor
    def __init__(self, valid: _Optional[bool] = ..., lat_deg: _Optional[float] = ..., lon_deg: _Optional[float] = ..., impact_time_ns: _Optional[int] = ..., impact_time_sigma_s: _Optional[float] = ..., ellipse: _Optional[_Union[ErrorEllipse, _Mapping]] = ..., corridor: _Optional[_Union[ImpactCorridor, _Mapping]] = ...) -> None: ...

class ThreatenedArea(_message.Message):
    __slots__ = ("kind", "name", "probability")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    kind: AreaKind
    name: str
    probability: float
    def __init__(self, kind: _Optional[_Union[AreaKind, str]] = ..., name: _Optional[str] = ..., probability: _Optional[float] = ...) -> None: ...

class SystemTrack(_message.Message):
    __slots__ = ("track_id", "time_ns", "state", "contributing_nations", "sources", "phase", "missile_class", "launch_point", "impact", "threatened_areas", "warning_level", "altitude_m", "lat_deg", "lon_deg", "estimated_objects")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTING_NATIONS_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    MISSILE_CLASS_FIELD_NUMBER: _ClassVar[int]
    LAUNCH_POINT_FIELD_NUMBER: _ClassVar[int]
    IMPACT_FIELD_NUMBER: _ClassVar[int]
    THREATENED_AREAS_FIELD_NUMBER: _ClassVar[int]
    WARNING_LEVEL_FIELD_NUMBER: _ClassVar[int]
    ALTITUDE_M_FIELD_NUMBER: _ClassVar[int]
    LAT_DEG_FIELD_NUMBER: _ClassVar[int]
    LON_DEG_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    track_id: int
    time_ns: int
    state: _tracks_pb2.CartesianState
    contributing_nations: _containers.RepeatedScalarFieldContainer[_tracks_pb2.Nation]
    sources: _containers.RepeatedCompositeFieldContainer[SourceTrack]
    phase: _tracks_pb2.FlightPhase
    missile_class: MissileClass
    launch_point: LaunchPointEstimate
    impact: ImpactPrediction
    threatened_areas: _containers.RepeatedCompositeFieldContainer[ThreatenedArea]
    warning_level: WarningLevel
    altitude_m: float
    lat_deg: float
    lon_deg: float
    estimated_objects: int
    def __init__(self, track_id: _Optional[int] = ..., time_ns: _Optional[int] = ..., state: _Optional[_Union[_tracks_pb2.CartesianState, _Mapping]] = ..., contributing_nations: _Optional[_Iterable[_Union[_tracks_pb2.Nation, str]]] = ..., sources: _Optional[_Iterable[_Union[SourceTrack, _Mapping]]] = ..., phase: _Optional[_Union[_tracks_pb2.FlightPhase, str]] = ..., missile_class: _Optional[_Union[MissileClass, str]] = ..., launch_point: _Optional[_Union[LaunchPointEstimate, _Mapping]] = ..., impact: _Optional[_Union[ImpactPrediction, _Mapping]] = ..., threatened_areas: _Optional[_Iterable[_Union[ThreatenedArea, _Mapping]]] = ..., warning_level: _Optional[_Union[WarningLevel, str]] = ..., altitude_m: _Optional[float] = ..., lat_deg: _Optional[float] = ..., lon_deg: _Optional[float] = ..., estimated_objects: _Optional[int] = ...) -> None: ...

class SourceTrack(_message.Message):
    __slots__ = ("nation", "node_id", "local_track_number")
    NATION_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    LOCAL_TRACK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    nation: _tracks_pb2.Nation
    node_id: str
    local_track_number: int
    def __init__(self, nation: _Optional[_Union[_tracks_pb2.Nation, str]] = ..., node_id: _Optional[str] = ..., local_track_number: _Optional[int] = ...) -> None: ...

class Warning(_message.Message):
    __slots__ = ("warning_id", "track_id", "level", "state", "areas", "reasons", "issued_time_ns", "updated_time_ns", "last_sensor_update_ns")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Warning.State]
        STATE_NEW: _ClassVar[Warning.State]
        STATE_UPDATED: _ClassVar[Warning.State]
        STATE_IMPACT_EXPECTED: _ClassVar[Warning.State]
        STATE_ENDED: _ClassVar[Warning.State]
        STATE_CANCELLED: _ClassVar[Warning.State]
        STATE_COASTING: _ClassVar[Warning.State]
    STATE_UNSPECIFIED: Warning.State
    STATE_NEW: Warning.State
    STATE_UPDATED: Warning.State
    STATE_IMPACT_EXPECTED: Warning.State
    STATE_ENDED: Warning.State
    STATE_CANCELLED: Warning.State
    STATE_COASTING: Warning.State
    WARNING_ID_FIELD_NUMBER: _ClassVar[int]
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AREAS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    ISSUED_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    LAST_SENSOR_UPDATE_NS_FIELD_NUMBER: _ClassVar[int]
    warning_id: int
    track_id: int
    level: WarningLevel
    state: Warning.State
    areas: _containers.RepeatedCompositeFieldContainer[ThreatenedArea]
    reasons: _containers.RepeatedScalarFieldContainer[str]
    issued_time_ns: int
    updated_time_ns: int
    last_sensor_update_ns: int
    def __init__(self, warning_id: _Optional[int] = ..., track_id: _Optional[int] = ..., level: _Optional[_Union[WarningLevel, str]] = ..., state: _Optional[_Union[Warning.State, str]] = ..., areas: _Optional[_Iterable[_Union[ThreatenedArea, _Mapping]]] = ..., reasons: _Optional[_Iterable[str]] = ..., issued_time_ns: _Optional[int] = ..., updated_time_ns: _Optional[int] = ..., last_sensor_update_ns: _Optional[int] = ...) -> None: ...

class PictureUpdate(_message.Message):
    __slots__ = ("seq", "kind", "view", "time_ns", "tracks", "deleted_track_ids", "warnings", "source_sent_time_ns", "label", "label_signature")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[PictureUpdate.Kind]
        KIND_SNAPSHOT: _ClassVar[PictureUpdate.Kind]
        KIND_DELTA: _ClassVar[PictureUpdate.Kind]
    KIND_UNSPECIFIED: PictureUpdate.Kind
    KIND_SNAPSHOT: PictureUpdate.Kind
    KIND_DELTA: PictureUpdate.Kind
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    TIME_NS_FIELD_NUMBER: _ClassVar[int]
    TRACKS_FIELD_NUMBER: _ClassVar[int]
    DELETED_TRACK_IDS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SENT_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    LABEL_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    kind: PictureUpdate.Kind
    view: _tracks_pb2.Nation
    time_ns: int
    tracks: _containers.RepeatedCompositeFieldContainer[SystemTrack]
    deleted_track_ids: _containers.RepeatedScalarFieldContainer[int]
    warnings: _containers.RepeatedCompositeFieldContainer[Warning]
    source_sent_time_ns: int
    label: _release_pb2.ReleaseLabel
    label_signature: _release_pb2.LabelSignature
    def __init__(self, seq: _Optional[int] = ..., kind: _Optional[_Union[PictureUpdate.Kind, str]] = ..., view: _Optional[_Union[_tracks_pb2.Nation, str]] = ..., time_ns: _Optional[int] = ..., tracks: _Optional[_Iterable[_Union[SystemTrack, _Mapping]]] = ..., deleted_track_ids: _Optional[_Iterable[int]] = ..., warnings: _Optional[_Iterable[_Union[Warning, _Mapping]]] = ..., source_sent_time_ns: _Optional[int] = ..., label: _Optional[_Union[_release_pb2.ReleaseLabel, _Mapping]] = ..., label_signature: _Optional[_Union[_release_pb2.LabelSignature, _Mapping]] = ...) -> None: ...
