from triwarn.v1 import tracks_pb2 as _tracks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReleaseLabel(_message.Message):
    __slots__ = ("policy_id", "classification", "releasable_to", "view", "seq", "created_time_ns")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    RELEASABLE_TO_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CREATED_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    classification: str
    releasable_to: _containers.RepeatedScalarFieldContainer[_tracks_pb2.Nation]
    view: _tracks_pb2.Nation
    seq: int
    created_time_ns: int
    def __init__(self, policy_id: _Optional[str] = ..., classification: _Optional[str] = ..., releasable_to: _Optional[_Iterable[_Union[_tracks_pb2.Nation, str]]] = ..., view: _Optional[_Union[_tracks_pb2.Nation, str]] = ..., seq: _Optional[int] = ..., created_time_ns: _Optional[int] = ...) -> None: ...

class LabelSignature(_message.Message):
    __slots__ = ("key_id", "ed25519")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ED25519_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    ed25519: bytes
    def __init__(self, key_id: _Optional[str] = ..., ed25519: _Optional[bytes] = ...) -> None: ...

class ReleasedUpdate(_message.Message):
    __slots__ = ("update", "label", "key_id", "ed25519")
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ED25519_FIELD_NUMBER: _ClassVar[int]
    update: bytes
    label: bytes
    key_id: str
    ed25519: bytes
    def __init__(self, update: _Optional[bytes] = ..., label: _Optional[bytes] = ..., key_id: _Optional[str] = ..., ed25519: _Optional[bytes] = ...) -> None: ...
