"""CWMP (TR-069) CPE side: sans-IO codec, session, events, retry; thin aiohttp drivers."""
