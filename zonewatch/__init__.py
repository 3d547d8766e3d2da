"""zonewatch: the command line entry point that ties ingest, streams and alerts together."""
