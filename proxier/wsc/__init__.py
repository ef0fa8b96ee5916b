"""Wi-Fi Simple Configuration (WPS) registration protocol: the introduction method of
DeviceProtection:1 (TR-330 §4.8.1.2). Sans-IO: `tlv` (codec), `crypto` (DH group 5,
KDF, hashes, Encrypted Settings), `registration` (Registrar and Enrollee runs) and
`pbc` (push-button walk time and overlap). See dp-wps.md in the project brief."""
