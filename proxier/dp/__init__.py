"""UPnP DeviceProtection:1 (DP) for the control point: identity, pins, login, roles.

TR-330 §2.3/§4.8: the proxier talks to DP devices over mutual TLS, learns its roles with
GetAssignedRoles and gains Admin by a CA-signed certificate (carrier, §4.8.1.1) or by a user
login (retail, §4.8.1.2). Introduction (WPS, SendSetupMessage) plugs in at
`proxier.dp.introduce` (issue 9).
"""
