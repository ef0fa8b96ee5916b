"""Lab UPnP DM device simulator (ManageableDevice:2 with BMS/CMS/SMS) for labs, demo and tests."""
