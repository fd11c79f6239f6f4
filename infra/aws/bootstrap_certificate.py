"""The bootstrap's certificate part: the meeting domain's ACM certificate, requested once.

With a hosted zone the validation record goes into it and ACM issues the
certificate within minutes; without one, the bootstrap prints the record the
user must create where the domain's DNS lives. Either way nothing waits here:
`jitsi-bot doctor` and the start's pre-check say when it is issued.
"""

from __future__ import annotations

from infra.aws import certificate
from infra.aws.bootstrap_network import Recorder


def ensure_certificate(rec: Recorder) -> None:
    """Find or request the certificate; write (or show) its DNS validation records."""
    s = rec.settings
    cert, requested = certificate.request(s, rec.clients, rec.tags.elbv2())
    if requested:
        rec.made("ACM certificate", cert.arn)
    else:
        rec.found("ACM certificate", f"{cert.arn} ({cert.status})")
    rec.result["certificate_arn"] = cert.arn
    rec.result["certificate_status"] = cert.status
    if cert.status != certificate.PENDING:
        return
    records = certificate.validation_records(rec.clients, cert.arn)
    if s.hosted_zone_id:
        certificate.write_validation_records(s, rec.clients, records)
        for r in records:
            rec.progress(f"DNS validation record {r.name} CNAME {r.value}: written")
        rec.progress("ACM issues the certificate a few minutes after the record resolves.")
    else:
        for r in records:
            rec.progress(f"Create this record where {s.domain} is hosted: {r.name} CNAME {r.value}")
        rec.progress("ACM issues the certificate once the record resolves; keep it for renewals.")
