"""TR-330 §4 translation: CWMP RPCs to DM actions, DM events to Inform events, errors to faults."""
