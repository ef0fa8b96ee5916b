"""UPnP DM control point: discovery, descriptions, CMS/BMS/SMS clients, GENA, DPS hooks."""
