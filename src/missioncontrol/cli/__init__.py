"""The `missionctl` command line."""
