"""IAM's ``SimulatePrincipalPolicy`` for the emulator (moto 5.2 lacks it), and injected
denials for ``jitsi-bot doctor``'s tests.

A principal that exists in the emulated IAM (a user or a role) is judged by its inline
and attached managed policies (and, for a user, its groups'): an explicit ``Deny``
wins, then an ``Allow``, else the implicit deny, as IAM evaluates identity policies
(resource and condition elements are ignored: the doctor simulates with ``*``).
moto's default identity (``.../user/moto``, what any unknown access key is) has no
IAM entity; moto authorises every call it makes, so the emulator treats it as an
administrator. Actions denied through ``POST /_emulator/iam`` are ``explicitDeny``
for every principal.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from moto.backends import get_backend
from moto.core.responses import ActionResult
from moto.iam.exceptions import NoSuchEntity
from moto.iam.responses import IamResponse

from .state import EmulatorState

_installed = False


def install(current: Callable[[], EmulatorState]) -> None:
    """Give moto's IAM the ``SimulatePrincipalPolicy`` action (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True

    def simulate_principal_policy(self: IamResponse) -> ActionResult:
        arn = str(self._get_param("PolicySourceArn"))
        actions = [str(a) for a in self._get_param("ActionNames", [])]
        state = current()
        with state.lock:
            denied = set(state.denied_actions)
        documents = _documents(self.current_account, arn)
        results = [
            {
                "EvalActionName": action,
                "EvalResourceName": "*",
                "EvalDecision": _decide(action, documents, denied),
            }
            for action in actions
        ]
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})

    # moto dispatches an action to the response method of the same (snake_case) name.
    IamResponse.simulate_principal_policy = simulate_principal_policy  # type: ignore[attr-defined]


def _documents(account: str, arn: str) -> list[dict[str, Any]] | None:
    """The policy documents of the principal; None for moto's unnamed administrator."""
    _, _, resource = arn.partition(":iam::")
    kind, _, path_name = resource.partition(":")[2].partition("/")
    name = path_name.rsplit("/", 1)[-1]
    iam = get_backend("iam")[account]["aws"]
    if kind == "user" and name == "moto" and name not in iam.users:
        return None
    if kind == "user":
        user = iam.get_user(name)
        owners: list[Any] = [user, *iam.get_groups_for_user(name)]
    elif kind == "role":
        owners = [iam.get_role(name)]
    else:
        raise NoSuchEntity(f"The principal {arn} cannot be simulated.")
    raw: list[str] = []
    for owner in owners:
        raw += list(owner.policies.values())
        for policy in owner.managed_policies.values():
            raw += [v.document for v in policy.versions if v.is_default]
    return [json.loads(unquote(doc)) if isinstance(doc, str) else doc for doc in raw]


def _listed(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, Iterable) else []


def _matches(action: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _decide(action: str, documents: list[dict[str, Any]] | None, denied: set[str]) -> str:
    if _matches(action, denied):
        return "explicitDeny"
    if documents is None:
        return "allowed"
    allowed = False
    for doc in documents:
        statements = doc.get("Statement", [])
        for st in [statements] if isinstance(statements, dict) else statements:
            if "Action" not in st or not _matches(action, _listed(st["Action"])):
                continue
            if st.get("Effect") == "Deny":
                return "explicitDeny"
            allowed = allowed or st.get("Effect") == "Allow"
    return "allowed" if allowed else "implicitDeny"


def set_denied(state: EmulatorState, body: dict[str, Any]) -> None:
    """``POST /_emulator/iam``: ``{"deny": ["ecs:UpdateService", ...]}`` adds denials
    (patterns such as ``ecs:*`` too); ``{"clear": true}`` removes them all."""
    if body.get("clear"):
        state.denied_actions.clear()
    deny = body.get("deny", [])
    if not isinstance(deny, list) or not all(isinstance(a, str) and ":" in a for a in deny):
        raise ValueError("deny must be a list of IAM actions such as ecs:UpdateService")
    state.denied_actions.update(deny)
