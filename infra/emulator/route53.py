"""Route 53 change propagation: a change is PENDING for the profile's ``dns_insync``
delay, then INSYNC, as AWS reports it through GetChange (moto says INSYNC at once).

Route 53 is designed to propagate a change to all its authoritative servers within
60 seconds under normal conditions, and GetChange says INSYNC once it has (Route 53
FAQ, "How quickly will changes I make to my DNS settings propagate globally?";
API reference, GetChange). A bot that announces a URL before INSYNC sends people
to name servers that may not know the record yet.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from moto.route53 import models as r53_models
from moto.route53 import responses as r53

from .state import EmulatorState, now

_ALPHABET = string.ascii_uppercase + string.digits


def _change_id() -> str:
    # AWS change ids look like C2682N5HXP0BZ4: unique per change (moto reuses one).
    return "C" + "".join(secrets.choice(_ALPHABET) for _ in range(13))


def _changes(response: Any) -> dict[str, float]:
    """Submission times by bare change id, kept on the account's Route 53 backend so a
    moto reset forgets them with the records."""
    backend = response.backend
    changes: dict[str, float] = backend.__dict__.setdefault("_emu_changes", {})
    return changes


def _status(state: EmulatorState, submitted: float | None, t: float) -> str:
    if submitted is None:  # a change the emulator did not see (moto's fixed ids)
        return "INSYNC"
    return "INSYNC" if t - submitted >= state.profile.delays.dns_insync else "PENDING"


def install(state_of: Any) -> None:
    """Patch moto's Route 53 responses; ``state_of()`` returns the current emulator state."""
    change_records = r53.Route53.__dict__["change_resource_record_sets"]
    get_change = r53.Route53.__dict__["get_change"]

    def change_resource_record_sets(self: Any) -> Any:
        result = change_records(self)
        state: EmulatorState = state_of()
        with state.lock:
            change_id, t = _change_id(), now()
            _changes(self)[change_id] = t
            info = result.result["ChangeInfo"]
            info["Id"] = f"/change/{change_id}"
            info["Status"] = _status(state, t, t)
        return result

    def get_change_status(self: Any) -> Any:
        result = get_change(self)
        state: EmulatorState = state_of()
        change_id = str(self._get_param("Id")).rsplit("/", 1)[-1]
        with state.lock:
            submitted = _changes(self).get(change_id)
            info = result.result["ChangeInfo"]
            info["Id"] = f"/change/{change_id}"
            info["Status"] = _status(state, submitted, now())
        return result

    r53.Route53.change_resource_record_sets = change_resource_record_sets  # type: ignore[method-assign]
    _fix_soa_values()
    r53.Route53.get_change = get_change_status  # type: ignore[method-assign]


def _fix_soa_values() -> None:
    """moto stores a new zone's SOA value as a dict and reads it back as that dict's
    repr; AWS answers the plain value (``ns-... hostmaster... 1 7200 900 1209600 86400``)."""
    backend = r53_models.Route53Backend
    create = backend.__dict__["create_hosted_zone"]

    def create_hosted_zone(self: Any, *args: Any, **kwargs: Any) -> Any:
        zone = create(self, *args, **kwargs)
        for rrset in zone.rrsets:
            rrset.records = [r["Value"] if isinstance(r, dict) else r for r in rrset.records]
        return zone

    backend.create_hosted_zone = create_hosted_zone  # type: ignore[method-assign]
