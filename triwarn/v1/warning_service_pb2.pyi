from triwarn.v1 import picture_pb2 as _picture_pb2
from triwarn.v1 import tracks_pb2 as _tracks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Filter(_message.Message):
    __slots__ = ("areas", "min_level", "missile_classes")
    AREAS_FIELD_NUMBER: _ClassVar[int]
    MIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    MISSILE_CLASSES_FIELD_NUMBER: _ClassVar[int]
    areas: _containers.RepeatedScalarFieldContainer[_picture_pb2.AreaKind]
    min_level: _picture_pb2.WarningLevel
    missile_classes: _containers.RepeatedScalarFieldContainer[_picture_pb2.MissileClass]
    def __init__(self, areas: _Optional[_Iterable[_Union[_picture_pb2.AreaKind, str]]] = ..., min_level: _Optional[_Union[_picture_pb2.WarningLevel, str]] = ..., missile_classes: _Optional[_Iterable[_Union[_picture_pb2.MissileClass, str]]] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("view", "filter", "resume_after_seq")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    view: _tracks_pb2.Nation
    filter: Filter
    resume_after_seq: int
    def __init__(self, view: _Optional[_Union[_tracks_pb2.Nation, str]] = ..., filter: _Optional[_Union[Filter, _Mapping]] = ..., resume_after_seq: _Optional[int] = ...) -> None: ...

class GetPictureRequest(_message.Message):
    __slots__ = ("view", "filter")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    view: _tracks_pb2.Nation
    filter: Filter
    def __init__(self, view: _Optional[_Union[_tracks_pb2.Nation, str]] = ..., filter: _Optional[_Union[Filter, _Mapping]] = ...) -> None: ...
