"""ACM DNS validation in the emulator: a requested certificate is ISSUED once its
validation CNAME exists in one of the account's Route 53 zones, after the
profile's ``cert_issued`` delay, as ACM does (it polls DNS). moto alone issues
every certificate 60 s after the request whatever DNS says; that is turned off.

Also the lookups the HTTPS front needs: a certificate's status and names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from moto import settings as moto_settings
from moto.acm import models as acm
from moto.backends import get_backend
from moto.route53 import models as route53

from .state import EmulatorState, now

log = logging.getLogger("infra.emulator")

_state: EmulatorState | None = None
_installed = False


@dataclass(frozen=True, slots=True)
class CertView:
    arn: str
    status: str
    names: tuple[str, ...]


def install(state: EmulatorState) -> None:
    """Patch moto's certificate check (once) and point it at ``state``."""
    global _state, _installed
    _state = state
    # moto's own rule (issued N seconds after the request) would issue certificates
    # nobody validated: only ours decides.
    moto_settings.ACM_VALIDATION_WAIT = 10**9
    if _installed:
        return
    _installed = True
    original = acm.CertBundle.check

    def check(self: Any) -> None:
        original(self)
        if _state is not None and self.type == "AMAZON_ISSUED":
            _advance(_state, self)

    acm.CertBundle.check = check  # type: ignore[method-assign]

    record_init = route53.RecordSet.__init__

    def stamped(self: Any, *args: Any, **kwargs: Any) -> None:
        record_init(self, *args, **kwargs)
        self._emu_created = now()  # ACM's delay runs from when the record was written

    route53.RecordSet.__init__ = stamped  # type: ignore[method-assign]


def _validation_names(cert: Any) -> set[tuple[str, str]]:
    options = cert.describe()["Certificate"].get("DomainValidationOptions", [])
    return {
        (o["ResourceRecord"]["Name"].lower().rstrip("."), _value(o["ResourceRecord"]["Value"]))
        for o in options
    }


def _value(text: str) -> str:
    return text.lower().rstrip(".")


def _cnames(account: str) -> dict[tuple[str, str], float]:
    """Every CNAME (name, value) in the account's hosted zones, and when it was written."""
    found: dict[tuple[str, str], float] = {}
    for partition_backend in get_backend("route53").get(account, {}).values():
        for zone in list(partition_backend.zones.values()):
            for rrset in list(zone.rrsets):
                if rrset.type != "CNAME":
                    continue
                for record in rrset.records:
                    value = record["Value"] if isinstance(record, dict) else str(record)
                    key = (rrset.name.lower().rstrip("."), _value(value))
                    found[key] = getattr(rrset, "_emu_created", 0.0)
    return found


def _advance(state: EmulatorState, cert: Any) -> None:
    """Checked whenever ACM is asked about the certificate (moto's own hook)."""
    if cert.status != "PENDING_VALIDATION":
        return
    wanted = _validation_names(cert)
    records = _cnames(cert.arn.split(":")[4])
    if not wanted or not wanted <= records.keys():
        return
    written = max(records[key] for key in wanted)
    if now() - written >= state.profile.delays.cert_issued:
        cert.status = "ISSUED"
        log.info("certificate %s: ISSUED (DNS validation record found)", cert.arn)


def certificate(account: str, region: str, arn: str) -> CertView | None:
    """The certificate as ACM sees it now (running its checks), or None."""
    try:
        backend = get_backend("acm")[account][region]
        cert = backend.get_certificate(arn)
    except Exception:  # moto raises its own not-found error types
        return None
    names = tuple(dict.fromkeys([cert.common_name, *cert.sans]))
    return CertView(cert.arn, cert.status, names)
