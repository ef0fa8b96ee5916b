"""Lab ACS: the ACS side of CWMP on the same codec, for the demo and the tests."""
