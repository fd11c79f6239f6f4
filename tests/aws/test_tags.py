"""The tag set in the shape each API wants."""

from __future__ import annotations

from infra.aws.tags import TagSet, belongs_to, project_filter, to_dict


def test_tag_shapes() -> None:
    tags = TagSet("jitsi-x", session="job 1", requested_by="@alice:example.org (Alice!)")
    plain = tags.as_dict()
    assert plain == {
        "jitsi:project": "jitsi-x",
        "jitsi:managed-by": "jitsi-chatops",
        "jitsi:session": "job 1",
        "jitsi:requested-by": "@alice:example.org _Alice__",  # EC2/ELB reject ( ) !
    }
    assert to_dict(tags.elbv2()) == plain
    assert to_dict(tags.ssm()) == plain
    assert to_dict(tags.ecs()) == plain
    assert tags.ecs()[0].keys() == {"key", "value"}
    assert tags.ec2("vpc") == [{"ResourceType": "vpc", "Tags": tags.elbv2()}]
    assert tags.s3() == {"TagSet": tags.elbv2()}
    assert belongs_to(tags.ecs(), "jitsi-x") and not belongs_to(tags.ecs(), "jitsi")
    assert project_filter("jitsi-x") == [{"Name": "tag:jitsi:project", "Values": ["jitsi-x"]}]


def test_unknown_session_and_user_are_left_out() -> None:
    assert set(TagSet("p").as_dict()) == {"jitsi:project", "jitsi:managed-by"}
    assert len(TagSet("p", session="x" * 400).as_dict()["jitsi:session"]) == 256
