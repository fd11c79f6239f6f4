"""The metrics through which the Jitsi task tells the worker who is in a meeting and
how many bytes it moved.

The task's stats sidecar reads Jicofo's /stats (``participants``) on localhost every
minute and prints it as a CloudWatch Embedded Metric Format line; CloudWatch files it
under these names (infra/jitsi/contract.json, image ``busybox``, says what the
sidecar's command must print for each). The worker's idle source reads it
(infra/idle_sources.py) and the emulator publishes it for running tasks
(infra/emulator/sidecar.py).
"""

from __future__ import annotations

NAMESPACE = "JitsiChatops"
METRIC = "Participants"
PROJECT_DIMENSION = "Project"  # value: the project name (Settings.project_name)
# The task's network bytes since the last datapoint (the sidecar reads the task's
# cumulative counters from the ECS task metadata endpoint v4 every minute and prints
# the difference; docs/jitsi.md): traffic per session.
SENT_METRIC = "NetworkTxBytes"
RECEIVED_METRIC = "NetworkRxBytes"
