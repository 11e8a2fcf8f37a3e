"""The live channel: audiences, partials rendered once per audience, bounded queues."""
