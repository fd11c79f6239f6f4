"""The Jitsi task: its one definition (task.json) and docker-jitsi-meet's contract."""
