"""The local AWS for the demo and the tests: moto in server mode plus what moto lacks
(ECS service scheduler, NLB provisioning and interfaces, target health, latency
profiles, fault injection and a control API under ``/_emulator/``)."""

import os

# Terraform and our bootstrap attach AWS managed policies (e.g. the ECS task
# execution policy); moto only knows them when told before it is imported.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from infra.emulator.server import EmulatorServer, main

__all__ = ["EmulatorServer", "main"]
