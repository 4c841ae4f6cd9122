from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Row(_message.Message):
    __slots__ = ("table", "id", "values", "clock", "base", "version", "created")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    table: str
    id: str
    values: bytes
    clock: bytes
    base: bytes
    version: str
    created: bool
    def __init__(self, table: _Optional[str] = ..., id: _Optional[str] = ..., values: _Optional[bytes] = ..., clock: _Optional[bytes] = ..., base: _Optional[bytes] = ..., version: _Optional[str] = ..., created: _Optional[bool] = ...) -> None: ...

class HandshakeRequest(_message.Message):
    __slots__ = ("protocol", "schema", "replica_id", "wall_ms", "software")
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    WALL_MS_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_FIELD_NUMBER: _ClassVar[int]
    protocol: int
    schema: int
    replica_id: str
    wall_ms: int
    software: str
    def __init__(self, protocol: _Optional[int] = ..., schema: _Optional[int] = ..., replica_id: _Optional[str] = ..., wall_ms: _Optional[int] = ..., software: _Optional[str] = ...) -> None: ...

class HandshakeResponse(_message.Message):
    __slots__ = ("protocol", "schema", "station", "scope", "hub_wall_ms", "county", "hub_seq", "max_batch_rows", "epoch", "pruned_before_ms")
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    STATION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    HUB_WALL_MS_FIELD_NUMBER: _ClassVar[int]
    COUNTY_FIELD_NUMBER: _ClassVar[int]
    HUB_SEQ_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_ROWS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    PRUNED_BEFORE_MS_FIELD_NUMBER: _ClassVar[int]
    protocol: int
    schema: int
    station: str
    scope: str
    hub_wall_ms: int
    county: str
    hub_seq: int
    max_batch_rows: int
    epoch: str
    pruned_before_ms: int
    def __init__(self, protocol: _Optional[int] = ..., schema: _Optional[int] = ..., station: _Optional[str] = ..., scope: _Optional[str] = ..., hub_wall_ms: _Optional[int] = ..., county: _Optional[str] = ..., hub_seq: _Optional[int] = ..., max_batch_rows: _Optional[int] = ..., epoch: _Optional[str] = ..., pruned_before_ms: _Optional[int] = ...) -> None: ...

class PushRequest(_message.Message):
    __slots__ = ("batch", "replica_id", "rows", "cursor", "recovery")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    RECOVERY_FIELD_NUMBER: _ClassVar[int]
    batch: int
    replica_id: str
    rows: _containers.RepeatedCompositeFieldContainer[Row]
    cursor: int
    recovery: str
    def __init__(self, batch: _Optional[int] = ..., replica_id: _Optional[str] = ..., rows: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., cursor: _Optional[int] = ..., recovery: _Optional[str] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("table", "id", "versions")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    table: str
    id: str
    versions: bytes
    def __init__(self, table: _Optional[str] = ..., id: _Optional[str] = ..., versions: _Optional[bytes] = ...) -> None: ...

class Refusal(_message.Message):
    __slots__ = ("table", "id", "reason")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    table: str
    id: str
    reason: str
    def __init__(self, table: _Optional[str] = ..., id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PushResponse(_message.Message):
    __slots__ = ("batch", "acks", "refused", "conflicts")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    ACKS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    batch: int
    acks: _containers.RepeatedCompositeFieldContainer[Ack]
    refused: _containers.RepeatedCompositeFieldContainer[Refusal]
    conflicts: int
    def __init__(self, batch: _Optional[int] = ..., acks: _Optional[_Iterable[_Union[Ack, _Mapping]]] = ..., refused: _Optional[_Iterable[_Union[Refusal, _Mapping]]] = ..., conflicts: _Optional[int] = ...) -> None: ...

class PullRequest(_message.Message):
    __slots__ = ("cursor", "batch_rows", "replica_id")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    BATCH_ROWS_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    cursor: int
    batch_rows: int
    replica_id: str
    def __init__(self, cursor: _Optional[int] = ..., batch_rows: _Optional[int] = ..., replica_id: _Optional[str] = ...) -> None: ...

class Eviction(_message.Message):
    __slots__ = ("table", "id")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    table: str
    id: str
    def __init__(self, table: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class PullResponse(_message.Message):
    __slots__ = ("rows", "evictions", "cursor", "more")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    EVICTIONS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[Row]
    evictions: _containers.RepeatedCompositeFieldContainer[Eviction]
    cursor: int
    more: bool
    def __init__(self, rows: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., evictions: _Optional[_Iterable[_Union[Eviction, _Mapping]]] = ..., cursor: _Optional[int] = ..., more: _Optional[bool] = ...) -> None: ...

class EnrollRequest(_message.Message):
    __slots__ = ("token", "csr")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CSR_FIELD_NUMBER: _ClassVar[int]
    token: str
    csr: bytes
    def __init__(self, token: _Optional[str] = ..., csr: _Optional[bytes] = ...) -> None: ...

class EnrollResponse(_message.Message):
    __slots__ = ("certificate", "ca_certificate", "station", "scope", "county")
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CA_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    STATION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    COUNTY_FIELD_NUMBER: _ClassVar[int]
    certificate: bytes
    ca_certificate: bytes
    station: str
    scope: str
    county: str
    def __init__(self, certificate: _Optional[bytes] = ..., ca_certificate: _Optional[bytes] = ..., station: _Optional[str] = ..., scope: _Optional[str] = ..., county: _Optional[str] = ...) -> None: ...

class RenewRequest(_message.Message):
    __slots__ = ("csr",)
    CSR_FIELD_NUMBER: _ClassVar[int]
    csr: bytes
    def __init__(self, csr: _Optional[bytes] = ...) -> None: ...

class RenewResponse(_message.Message):
    __slots__ = ("certificate", "ca_certificate", "not_after")
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CA_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    certificate: bytes
    ca_certificate: bytes
    not_after: str
    def __init__(self, certificate: _Optional[bytes] = ..., ca_certificate: _Optional[bytes] = ..., not_after: _Optional[str] = ...) -> None: ...

class Bucket(_message.Message):
    __slots__ = ("table", "area", "rows", "digest")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    AREA_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    table: str
    area: str
    rows: int
    digest: int
    def __init__(self, table: _Optional[str] = ..., area: _Optional[str] = ..., rows: _Optional[int] = ..., digest: _Optional[int] = ...) -> None: ...

class VerifyRequest(_message.Message):
    __slots__ = ("fetch", "batch_rows")
    FETCH_FIELD_NUMBER: _ClassVar[int]
    BATCH_ROWS_FIELD_NUMBER: _ClassVar[int]
    fetch: _containers.RepeatedCompositeFieldContainer[Bucket]
    batch_rows: int
    def __init__(self, fetch: _Optional[_Iterable[_Union[Bucket, _Mapping]]] = ..., batch_rows: _Optional[int] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("scope", "seq", "buckets", "rows", "more")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    scope: str
    seq: int
    buckets: _containers.RepeatedCompositeFieldContainer[Bucket]
    rows: _containers.RepeatedCompositeFieldContainer[Row]
    more: bool
    def __init__(self, scope: _Optional[str] = ..., seq: _Optional[int] = ..., buckets: _Optional[_Iterable[_Union[Bucket, _Mapping]]] = ..., rows: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...
