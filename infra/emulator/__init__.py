"""The local AWS for the demo and the tests: moto in server mode plus what moto lacks
(ECS service scheduler, NLB provisioning and interfaces, target health, latency
profiles, fault injection and a control API under ``/_emulator/``)."""

from infra.emulator.server import EmulatorServer, main

__all__ = ["EmulatorServer", "main"]
