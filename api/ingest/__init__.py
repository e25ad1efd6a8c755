"""Fix ingest: parsers for the client protocols (OsmAnd/Traccar, OwnTracks, our batch, GPX)
and the one pipeline they all feed (datum conversion, grid, flags, idempotent bulk store)."""
