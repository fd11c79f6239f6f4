"""The project's tag set and its spelling for each AWS API.

Every resource the bot creates carries these tags; the orphan audit and the
find-or-create lookups key on ``jitsi:project``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PROJECT = "jitsi:project"
MANAGED_BY = "jitsi:managed-by"
SESSION = "jitsi:session"
REQUESTED_BY = "jitsi:requested-by"
MANAGER = "jitsi-chatops"

# Tag values: at most 256 characters, and EC2/ELB accept only letters, digits,
# spaces and _ . : / = + - @. Chat user names may hold anything else.
_MAX_VALUE = 256
_NOT_ALLOWED = re.compile(r"[^\w\s.:/=+\-@]")


def tag_value(text: str) -> str:
    """``text`` made legal as a tag value in every service the bot tags."""
    return _NOT_ALLOWED.sub("_", text)[:_MAX_VALUE]


@dataclass(frozen=True, slots=True)
class TagSet:
    """The tags of one resource: project and manager always, session and user when known."""

    project: str
    session: str = ""
    requested_by: str = ""

    def as_dict(self) -> dict[str, str]:
        tags = {PROJECT: self.project, MANAGED_BY: MANAGER}
        if self.session:
            tags[SESSION] = tag_value(self.session)
        if self.requested_by:
            tags[REQUESTED_BY] = tag_value(self.requested_by)
        return tags

    def elbv2(self) -> list[dict[str, str]]:
        """``Tags=[{"Key", "Value"}]`` for elbv2 (and iam, ec2 ``create_tags``)."""
        return [{"Key": k, "Value": v} for k, v in self.as_dict().items()]

    def ssm(self) -> list[dict[str, str]]:
        """``Tags=[{"Key", "Value"}]`` for ssm ``put_parameter``."""
        return self.elbv2()

    def ec2(self, resource_type: str) -> list[dict[str, Any]]:
        """``TagSpecifications`` for an ec2 ``create_*`` call of ``resource_type``."""
        return [{"ResourceType": resource_type, "Tags": self.elbv2()}]

    def ecs(self) -> list[dict[str, str]]:
        """``tags=[{"key", "value"}]`` for ecs."""
        return [{"key": k, "value": v} for k, v in self.as_dict().items()]

    def s3(self) -> dict[str, list[dict[str, str]]]:
        """``Tagging={"TagSet": [...]}`` for s3 put_bucket_tagging."""
        return {"TagSet": self.elbv2()}


def project_filter(project: str) -> list[dict[str, Any]]:
    """ec2 ``Filters`` selecting resources tagged with the project."""
    return [{"Name": f"tag:{PROJECT}", "Values": [project]}]


def to_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """``[{"Key", "Value"}]`` or ``[{"key", "value"}]`` -> a plain dict."""
    out: dict[str, str] = {}
    for tag in tags or []:
        key = tag.get("Key", tag.get("key"))
        value = tag.get("Value", tag.get("value", ""))
        if key is not None:
            out[key] = value
    return out


def belongs_to(tags: list[dict[str, str]] | None, project: str) -> bool:
    return to_dict(tags).get(PROJECT) == project
