"""The hub's registry: enrolled stations and their certificates, one-time
enrollment tokens (stored hashed), revocations, per-station sync figures and
the audit log. Its tables live in the hub database beside the replicated ones
and are created by the registry's own numbered migrations; their SQL lives in
``sync.store.registry``, called here through ``RegistryTables``.

Certificates (PROTOCOL.md "Certificates"): enrollment signs the token's
station a certificate (``--cert-days`` of the token, else two years) and
revokes the station's older ones; renewal (:meth:`Registry.renew`) signs the
presenting station a certificate for a new key, at most one a day unless its
newest certificate expires within 30 days, and hands a renewal whose answer
was lost the same certificate again. A renewed certificate's first use
revokes the station's older certificates (``superseded``): until then they
all stay valid, so a renewal cut at any point locks nobody out. Revocation is
of a station (every certificate) or of one serial.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Callable

from dataclasses import dataclass

from county_hub import tokens
from county_hub.ca import CA, STATION_DAYS, check_station_csr, public_key_id, sign_station_csr
from county_hub.errors import CertificateRefused, NotEnrolled, RenewRefused, TokenError
from veterans.values import validate_area
from sync.engine.errors import ValidationError
from sync.store.hub import HubStore
from sync.store.registry import CertRow, RegistryTables
from sync.store.rows import disk_fault

log = logging.getLogger("county_hub.registry")

__all__ = ["Registry", "Renewal", "RENEW_MIN_INTERVAL_MS", "RENEW_WINDOW_MS", "normalise_serial"]

#: a station gets at most one renewed certificate a day ...
RENEW_MIN_INTERVAL_MS = 24 * 3600_000
#: ... unless its newest certificate expires within this (the window in which stations renew on their own)
RENEW_WINDOW_MS = 30 * 86_400_000

#: what the hub answers a call made with a certificate it does not accept, by reason
_REFUSED = {
    "revoked": "站点 {station} 的证书已被吊销，请联系县中心",
    "reenrolled": "站点 {station} 已重新登记，这张旧证书已吊销",
    "superseded": "站点 {station} 的这张证书已被续期后的新证书取代（已吊销）",
    "expired": "站点 {station} 的证书已过期",
    "unknown": "县中心没有站点 {station} 这张证书的记录（县中心可能已从较早的备份恢复）",
}


@dataclass(frozen=True)
class Renewal:
    """A renewed certificate: PEM, serial (hex), expiry (ISO 8601, UTC); ``repeated`` when it is the one
    an earlier renewal for the same key already issued (its answer was lost)."""

    cert_pem: bytes
    serial: str
    not_after: str
    repeated: bool = False


def normalise_serial(text: str) -> str:
    """A serial as the hub stores it (lowercase hex, no leading zeros) from what a person types:
    ``0x``, colons and spaces allowed (``openssl x509 -serial`` prints ``serial=1A2B…``)."""
    cleaned = "".join(str(text).split()).replace(":", "").lower()
    for prefix in ("serial=", "0x"):
        cleaned = cleaned.removeprefix(prefix)
    if not cleaned or len(cleaned) > 40 or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValidationError(f"证书序列号应为十六进制（最多 40 位）：{str(text)[:60]}")
    return format(int(cleaned, 16), "x")


def _iso_ms(text: str | None) -> int | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(when.timestamp() * 1000)

def _now_ms() -> int:
    return int(time.time() * 1000)


def _by(user: str | None) -> dict:
    """The ``user`` field of an audit entry written for the dashboard's account (none from the CLI)."""
    return {"user": user} if user else {}


class Registry:
    """``clock``: seconds since the epoch, as ``time.time`` (the default); the
    tokens' creation and expiry go by it, so tests can age a token without sleeping."""

    def __init__(self, store: HubStore, *, clock: Callable[[], float] = time.time):
        self.store = store
        self.conn = store.conn
        self.tables = RegistryTables(store)
        self.clock = clock
        self._migrate()

    def _clock_ms(self) -> int:
        return int(self.clock() * 1000)

    def _migrate(self) -> None:
        self.tables.migrate()

    # -- audit ---------------------------------------------------------------

    def audit(self, kind: str, station: str | None, /, **detail) -> None:
        self.tables.audit(_now_ms(), kind, station, detail)

    def audit_log(self, since_ms: int = 0) -> list[dict]:
        return [
            {"at_ms": r.at_ms, "kind": r.kind, "station": r.station, "detail": r.detail}
            for r in self.tables.audit_since(since_ms)
        ]

    # -- tokens and enrollment ------------------------------------------------

    def create_token(self, station: str, ca: CA, *, ttl_hours: float = 72, county_scope: bool = False,
                     cert_days: int | None = None, user: str | None = None) -> str:
        """A one-time enrollment token for ``station``, a town (9 digits) or
        village (12 digits) of this county. The county code itself (a station
        of the county office, which then sees the whole county) only with
        ``county_scope``, so that nobody hands out county-wide access by a
        typo; ``county_scope`` with any other code is refused too.
        ``cert_days`` (1 to 730, default 730): the lifetime of the certificate
        this token enrolls; it is the county's to choose, recorded with the
        token, never asked by the station. Renewed certificates last 730 days.
        ``user``: the dashboard's account that asked, recorded in the one audit
        entry (``token``) with ``county_scope``."""
        county = self.store.meta("county") or ""
        station = validate_area(station, scope=county)
        if county_scope and station != county:
            raise ValidationError(f"--county-scope 只能用于本县代码 {county}，站点 {station} 不是县级站点")
        if len(station) == 6 and not county_scope:
            raise ValidationError(
                f"站点代码 {station} 是县级代码，站点代码应为镇（9 位）或村（12 位）",
                hint="如确需为县中心本级站点发放令牌，请加 --county-scope",
            )
        if ttl_hours <= 0 or ttl_hours > 24 * 30:
            raise ValidationError(f"有效期 {ttl_hours} 小时不合理（应在 0 到 720 小时之间）")
        if cert_days is not None and not 1 <= cert_days <= STATION_DAYS:
            raise ValidationError(f"证书有效期 {cert_days} 天不合理（应在 1 到 {STATION_DAYS} 天之间）")
        text, secret_hash = tokens.make_token(station, ca.fingerprint)
        now = self._clock_ms()
        with self.store.transaction():
            self.tables.insert_token(secret_hash, station, now, now + int(ttl_hours * 3600_000), cert_days=cert_days)
            detail: dict = {"expires_ms": now + int(ttl_hours * 3600_000)}
            if cert_days is not None:
                detail["cert_days"] = cert_days
            if county_scope:
                detail["county_scope"] = True
            self.audit("token", station, **detail, **_by(user))
        return text

    def enroll(self, token_text: str, csr_pem: bytes, ca: CA) -> tuple[bytes, str]:
        """Redeem a one-time token: sign the CSR for the token's station.
        Returns (certificate PEM, station code)."""
        try:
            token = tokens.parse_token(token_text)
        except tokens.TokenFormatError as exc:
            raise TokenError(str(exc)) from None
        if token.ca_fingerprint != ca.fingerprint:
            raise TokenError("令牌不是本县中心签发的（CA 指纹不符）")
        with self.store.transaction():
            row = self.tables.token(tokens.hash_secret(token.secret))
            if row is None or row.station != token.station:
                raise TokenError("令牌无效")
            if row.used_ms is not None:
                raise TokenError("令牌已使用过，请向县中心重新申请")
            now = self._clock_ms()
            if row.expires_ms < now:
                raise TokenError("令牌已过期，请向县中心重新申请")
            cert_pem, serial, not_after = sign_station_csr(ca, csr_pem, token.station,
                                                           days=row.cert_days or STATION_DAYS)
            self.tables.mark_token_used(tokens.hash_secret(token.secret), now)
            # Re-enrollment (a reinstalled PC, a lost key, `init --reenroll`): the station's older
            # certificates stop working now.
            replaced = self.tables.revoke_certs_of(token.station, now, reason="reenrolled")
            self.tables.record_cert(f"{serial:x}", token.station, now, not_after.isoformat(),
                                    spki=public_key_id(check_station_csr(csr_pem)), pem=cert_pem.decode())
            self.tables.note_enrolled(token.station, token.station, now)
            self.audit("enroll", token.station, serial=f"{serial:x}", revoked=replaced)
        return cert_pem, token.station

    # -- renewal -----------------------------------------------------------------

    def renew(self, station: str, serial_hex: str, presented_key: str, csr_pem: bytes, ca: CA) -> Renewal:
        """Sign a certificate for the key of ``csr_pem`` to ``station``, the station of the certificate
        ``serial_hex`` the caller presented (``presented_key``: its public key's id). Only the CSR's key
        is used. Refused: a CSR that is not one (``CSRError``), a certificate the hub does not accept
        (:class:`CertificateRefused`), the presented key again or a key certified before
        (:class:`RenewRefused`), and a renewal within a day of the station's newest certificate unless
        that one expires within 30 days (:class:`RenewRefused`, with the hours to wait). A CSR for the key
        of the station's newest certificate, still valid, gets that certificate again (``repeated``)."""
        key_id = public_key_id(check_station_csr(csr_pem))
        now = self._clock_ms()
        with self.store.transaction():
            self._admit(station, serial_hex, now)
            if key_id == presented_key:
                raise RenewRefused("续期须使用新的密钥（证书请求中的密钥就是当前证书的密钥）")
            newest = self.tables.newest_cert(station)
            earlier = self.tables.certs_with_key(station, key_id)
            if earlier:
                last = earlier[-1]
                if (newest is not None and last.serial == newest.serial and last.revoked_ms is None and last.pem
                        and (_iso_ms(last.not_after) or 0) > now):
                    # not audited again: it was when it was signed (and a station repeating itself floods nothing)
                    return Renewal(last.pem.encode(), last.serial, last.not_after, repeated=True)
                raise RenewRefused("此密钥已用于本站的另一张证书，续期须使用新的密钥")
            if newest is not None:
                age = now - (newest.issued_ms or 0)
                left = (_iso_ms(newest.not_after) or 0) - now
                if age < RENEW_MIN_INTERVAL_MS and left > RENEW_WINDOW_MS:
                    hours = max(1, -(-(RENEW_MIN_INTERVAL_MS - age) // 3600_000))
                    raise RenewRefused(f"本站最新的证书签发不足 24 小时，县中心每天最多为一个站点续期一次，"
                                       f"请 {hours} 小时后再试")
            cert_pem, serial, not_after = sign_station_csr(ca, csr_pem, station)
            serial_text = f"{serial:x}"
            self.tables.record_cert(serial_text, station, now, not_after.isoformat(), spki=key_id,
                                    pem=cert_pem.decode(), renewed_from=serial_hex)
            self.audit("renew", station, serial=serial_text, renewed_from=serial_hex,
                       not_after=not_after.isoformat())
        return Renewal(cert_pem, serial_text, not_after.isoformat())

    # -- the certificate of a call ------------------------------------------------

    def _admit(self, station: str, serial_hex: str, now_ms: int) -> CertRow:
        """The certificate of a call, if the hub accepts it; else :class:`CertificateRefused`."""
        cert = self.tables.cert(serial_hex)
        if cert is None or cert.station != station:
            reason = "unknown"
        elif cert.revoked_ms is not None:
            reason = cert.revoked_reason if cert.revoked_reason in _REFUSED else "revoked"
        elif (_iso_ms(cert.not_after) or now_ms + 1) < now_ms:
            reason = "expired"
        else:
            return cert
        raise CertificateRefused(_REFUSED[reason].format(station=station), reason=reason)

    def check_certificate(self, station: str, serial_hex: str) -> None:
        """Checked on every call (and every push and pull batch): :class:`CertificateRefused` unless the
        hub issued this certificate to this station and it is neither revoked nor expired. The first call
        made with a renewed certificate supersedes (revokes) the station's older certificates."""
        now = _now_ms()
        cert = self._admit(station, serial_hex, now)
        if cert.used_ms is None:
            try:
                with self.store.transaction(durable=False):  # lost on a power cut: done again at the next call
                    self.tables.note_cert_used(serial_hex, now)
                    if cert.renewed_from:
                        n = self.tables.supersede_older(station, serial_hex, cert.issued_ms or now, now)
                        if n:
                            self.audit("superseded", station, serial=serial_hex, certificates=n)
            except Exception as exc:  # a full or failing disk: the call is served, the next one records it
                if (kind := disk_fault(exc)) is None:
                    raise
                log.warning("disk %s: first use of certificate %s not recorded: %s", kind, serial_hex, exc)

    # -- revocation ------------------------------------------------------------

    def revoke(self, station: str, *, user: str | None = None) -> int:
        """Revoke every certificate of ``station``; returns how many. ``user``: the
        dashboard's account, recorded in the one audit entry (``revoke``)."""
        with self.store.transaction():
            if not self.tables.is_enrolled(station):
                raise NotEnrolled(f"站点 {station} 未注册")
            n = self.tables.revoke_certs_of(station, _now_ms(), reason="revoked")
            self.audit("revoke", station, certificates=n, **_by(user))
        return n

    def revoke_serial(self, serial_text: str, *, user: str | None = None) -> tuple[dict, bool]:
        """Revoke one certificate by its serial (hex). Returns the certificate (as :meth:`certs` lists it)
        and whether it was revoked now (False: it already was). A serial the hub never issued is
        :class:`NotEnrolled`. ``user`` as for :meth:`revoke`."""
        serial = normalise_serial(serial_text)
        with self.store.transaction():
            cert = self.tables.cert(serial)
            if cert is None:
                raise NotEnrolled(f"县中心没有签发过序列号为 {serial} 的证书",
                                  hint="序列号见 county-hub certs 或站点的 station-node status")
            done = self.tables.revoke_cert(serial, _now_ms(), reason="revoked")
            if done:
                self.audit("revoke", cert.station, serial=serial, certificates=1, **_by(user))
            cert = self.tables.cert(serial)
        return _cert_json(cert, _now_ms()), done

    def is_revoked(self, serial_hex: str) -> bool:
        """A serial the hub never issued counts as revoked."""
        cert = self.tables.cert(serial_hex)
        return cert is None or cert.revoked_ms is not None

    def certs(self, station: str | None = None) -> list[dict]:
        """Every certificate the hub issued (to one station), in the order issued."""
        if station is not None and not self.tables.is_enrolled(station):
            raise NotEnrolled(f"站点 {station} 未注册")
        now = _now_ms()
        return [_cert_json(c, now) for c in self.tables.certs(station)]

    def enrolled_before(self, station: str, at_ms: int) -> bool:
        """Was the station's certificate in force before ``at_ms``? (Enrolled, or last re-enrolled, earlier.)"""
        enrolled = self.tables.enrolled_ms(station)
        return enrolled is not None and enrolled < at_ms

    def scope_of(self, station: str) -> str:
        scope = self.tables.scope_of(station)
        if scope is None:
            raise NotEnrolled(f"站点 {station} 未注册")
        return scope

    # -- sync figures ------------------------------------------------------------

    def record_handshake(self, station: str, replica_id: str, skew_ms: int) -> None:
        with self.store.transaction(durable=False):
            self.tables.note_handshake(station, replica_id, skew_ms)

    def record_push(self, station: str, rows: int, refused: list[tuple[str, str, str]], conflicts: int, *,
                    resolved: list[tuple[str, str]] = ()) -> None:
        """One accepted push batch: the station's figures, an audit entry with
        the refused rows and their reasons (the first 20), and one entry per
        conflict the station resolved (who, by the station's word)."""
        with self.store.transaction():
            self.tables.add_pushed(station, rows, _now_ms())
            detail = {"rows": rows, "refused": len(refused), "conflicts": conflicts}
            if refused:
                detail["refusals"] = [{"table": t, "id": i, "reason": r} for t, i, r in refused[:20]]
            if rows or refused or conflicts:  # an empty batch (a peer's idle chatter) is no audit entry
                self.audit("push", station, **detail)
            for conflict_id, by in resolved:
                self.audit("resolve", station, conflict=conflict_id, resolved_by=by)

    def record_pull(self, station: str, rows: int, *, from_cursor: int = 0, to_cursor: int = 0) -> None:
        """A pull reads personal data: each one that returned rows is audited; an empty one only
        updates the station's figures (a daemon's idle syncs are no audit flood)."""
        with self.store.transaction(durable=False):
            self.tables.add_pulled(station, rows, _now_ms())
            if rows:
                self.audit("pull", station, rows=rows, from_cursor=from_cursor, to_cursor=to_cursor)

    def stations(self) -> list[dict]:
        now = _now_ms()
        out = []
        for r in self.tables.stations():
            not_after = r.cert_not_after
            state = "revoked" if r.cert_revoked_ms else ("expired" if not_after and not_after < _iso(now) else "valid")
            out.append({
                "station": r.station, "scope": r.scope, "enrolled_at": _iso(r.enrolled_ms), "last_sync": _iso(r.last_sync_ms),
                "pushed": r.pushed, "pulled": r.pulled, "skew_ms": r.skew_ms, "cert_not_after": not_after,
                "cert_state": state, "cert_serial": r.cert_serial,
            })
        return out


def _cert_json(c: CertRow, now_ms: int) -> dict:
    """A certificate as ``county-hub certs --json`` shows it (a contract: fields only added)."""
    expired = (_iso_ms(c.not_after) or now_ms + 1) < now_ms
    return {
        "serial": c.serial, "station": c.station, "issued_at": _iso(c.issued_ms), "not_after": c.not_after,
        "state": "revoked" if c.revoked_ms is not None else ("expired" if expired else "valid"),
        "revoked_at": _iso(c.revoked_ms), "revoked_reason": (c.revoked_reason or "revoked") if c.revoked_ms else None,
        "renewed_from": c.renewed_from, "first_used_at": _iso(c.used_ms),
    }


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds")

