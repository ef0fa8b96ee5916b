#!/usr/bin/python3
"""A custom UPnP device hosted by GUPnP 1.6 (C library) through PyGObject.

Must run with Debian's /usr/bin/python3 (python3-gi lives there), inside a
test namespace:

    ip netns exec upnp-dev /usr/bin/python3 gupnp_device.py --iface upnp0

Description and SCPD come from ./gupnp-device/ (description.xml +
ConfigurationManagement.xml). The service
urn:schemas-upnp-org:service:ConfigurationManagement:2 implements
  GetValues(Parameters) -> ParameterValueList
  SetValues(ParameterValueList) -> Status
and events ConfigurationUpdate + CurrentConfigurationVersion: a counter
parameter (/UPnP/DM/X_Test/Counter) changes every --period seconds, and
every SetValues also emits an event.

Prints one line per happening on stdout (flushed), e.g.
  READY location=http://198.18.0.12:49152/... udn=uuid:...
  ACTION GetValues Parameters=...
  NOTIFY ConfigurationUpdate=...
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gi
import nsguard  # noqa: F401  (refuses the root netns)

gi.require_version("GUPnP", "1.6")
gi.require_version("GSSDP", "1.6")
from gi.repository import GSSDP, Gio, GLib, GObject, GUPnP  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CMS = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
CMS_NS = "urn:schemas-upnp-org:dm:cms"


def log(*a):
    print(*a, flush=True)


class Model:
    def __init__(self):
        self.boot_id = 1
        self.version = 1
        self.params = {
            "/UPnP/DM/DeviceInfo/FriendlyName": "GUPnP test ManageableDevice",
            "/UPnP/DM/DeviceInfo/Manufacturer": "upnp-peers test rig",
            "/UPnP/DM/DeviceInfo/SoftwareVersion": "1.0",
            "/UPnP/DM/X_Test/Counter": "0",
            "/UPnP/DM/X_Test/Writable": "initial",
        }

    def get(self, paths):
        out = []
        for p in paths:
            if p.endswith("/"):
                out += [(k, v) for k, v in sorted(self.params.items()) if k.startswith(p)]
            elif p in self.params:
                out.append((p, self.params[p]))
        return out

    def update(self, changed):
        self.params.update(changed)
        self.version += 1
        return f"{self.boot_id}," + ",".join(sorted(changed))


def parse_paths(xml_text):
    """<cms:ContentPathList><ContentPath>..</ContentPath>..</cms:ContentPathList>"""
    if not xml_text:
        return ["/"]
    root = ET.fromstring(xml_text)
    return [e.text.strip() for e in root.iter() if e.tag.split("}")[-1] == "ContentPath" and e.text]


def parse_pvl(xml_text):
    root = ET.fromstring(xml_text)
    out = {}
    for p in root.iter():
        if p.tag.split("}")[-1] != "Parameter":
            continue
        kids = {c.tag.split("}")[-1]: (c.text or "") for c in p}
        out[kids["ParameterPath"]] = kids.get("Value", "")
    return out


def pvl_xml(pairs):
    body = "".join(
        f"<Parameter><ParameterPath>{escape(k)}</ParameterPath><Value>{escape(v)}</Value></Parameter>"
        for k, v in pairs
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<cms:ParameterValueList xmlns:cms="{CMS_NS}" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{CMS_NS} http://www.upnp.org/schemas/dm/cms.xsd">'
        f"{body}</cms:ParameterValueList>"
    )


def connect_query_variable(service, func):
    """Connect GUPnPService::query-variable with a C-level callback.

    func(name) returns str/int/bool/None; the GValue is initialised and
    filled here via libgobject. Returns the ctypes callback (keep it alive).
    """
    import ctypes

    gobj = ctypes.CDLL("libgobject-2.0.so.0")
    gobj.g_type_from_name.restype = ctypes.c_size_t
    gobj.g_type_from_name.argtypes = [ctypes.c_char_p]
    gobj.g_value_init.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    gobj.g_value_init.restype = ctypes.c_void_p
    gobj.g_value_set_string.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    gobj.g_value_set_uint.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    gobj.g_value_set_boolean.argtypes = [ctypes.c_void_p, ctypes.c_int]
    gobj.g_signal_connect_data.restype = ctypes.c_ulong
    gobj.g_signal_connect_data.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
    ]
    t_str = gobj.g_type_from_name(b"gchararray")
    t_uint = gobj.g_type_from_name(b"guint")
    t_bool = gobj.g_type_from_name(b"gboolean")

    proto = ctypes.CFUNCTYPE(
        None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p
    )

    def cb(_svc, name, gvalue, _data):
        try:
            v = func(name.decode())
            if isinstance(v, bool):
                gobj.g_value_init(gvalue, t_bool)
                gobj.g_value_set_boolean(gvalue, int(v))
            elif isinstance(v, int):
                gobj.g_value_init(gvalue, t_uint)
                gobj.g_value_set_uint(gvalue, v)
            elif v is not None:
                gobj.g_value_init(gvalue, t_str)
                gobj.g_value_set_string(gvalue, str(v).encode())
        except Exception as e:  # never raise into C
            log(f"QUERY-ERROR {e!r}")

    c_cb = proto(cb)
    get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
    get_ptr.restype = ctypes.c_void_p
    get_ptr.argtypes = [ctypes.py_object, ctypes.c_char_p]
    ptr = get_ptr(service.__gpointer__, None)
    gobj.g_signal_connect_data(
        ptr, b"query-variable", ctypes.cast(c_cb, ctypes.c_void_p), None, None, 0
    )
    return c_cb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", default="upnp0", help="network interface (default upnp0)")
    ap.add_argument(
        "--address",
        help="IP to bind (default: first address of --iface; "
        "give an fe80::/IPv6 address for an IPv6 context)",
    )
    ap.add_argument("--port", type=int, default=0, help="HTTP port (0 = random)")
    ap.add_argument("--uda", choices=["1.0", "1.1"], default="1.0")
    ap.add_argument(
        "--period", type=float, default=3.0, help="seconds between counter events (0 = off)"
    )
    ap.add_argument("--udn", help="override the UDN in description.xml (uuid:...)")
    ap.add_argument("--friendly-name", help="override friendlyName")
    ap.add_argument("--desc-dir", default=os.path.join(HERE, "gupnp-device"))
    ap.add_argument("--run-for", type=float, default=0, help="exit after N seconds (0 = forever)")
    a = ap.parse_args()

    # Copy the description dir so --udn/--friendly-name can be patched in.
    work = tempfile.mkdtemp(prefix="gupnp-dev-")
    shutil.copytree(a.desc_dir, work, dirs_exist_ok=True)
    desc = os.path.join(work, "description.xml")
    if a.udn or a.friendly_name:
        text = open(desc, encoding="utf-8").read()
        if a.udn:
            text = text.replace(text.split("<UDN>")[1].split("</UDN>")[0], a.udn)
        if a.friendly_name:
            text = text.replace(
                text.split("<friendlyName>")[1].split("</friendlyName>")[0], escape(a.friendly_name)
            )
        open(desc, "w", encoding="utf-8").write(text)

    uda = GSSDP.UDAVersion.VERSION_1_0 if a.uda == "1.0" else GSSDP.UDAVersion.VERSION_1_1
    addr = Gio.InetAddress.new_from_string(a.address) if a.address else None
    # Context = one interface + one address + an HTTP server (libsoup).
    ctx = GUPnP.Context.new_full(a.iface, addr, a.port, uda)
    log(
        f"CONTEXT iface={ctx.get_interface()} host={ctx.get_host_ip()} port={ctx.get_port()} "
        f"family={ctx.get_family().value_nick} uda={a.uda}"
    )

    dev = GUPnP.RootDevice.new(ctx, "description.xml", work)
    svc = dev.get_service(CMS)
    model = Model()

    def on_get_values(service, action):
        paths_xml = action.get_value("Parameters", GObject.TYPE_STRING)
        log(f"ACTION GetValues Parameters={paths_xml!r}")
        try:
            pairs = model.get(parse_paths(paths_xml))
        except ET.ParseError as e:
            action.return_error(402, f"Invalid Args: {e}")
            return
        action.set_value("ParameterValueList", pvl_xml(pairs))
        action.return_success()

    def on_set_values(service, action):
        pvl = action.get_value("ParameterValueList", GObject.TYPE_STRING)
        log(f"ACTION SetValues ParameterValueList={pvl!r}")
        try:
            changed = parse_pvl(pvl)
        except (ET.ParseError, KeyError) as e:
            action.return_error(402, f"Invalid Args: {e}")
            return
        action.set_value("Status", "ChangesApplied")
        action.return_success()
        emit(model.update(changed))

    def query_variable(variable):
        # Value of an evented variable for the initial NOTIFY after SUBSCRIBE.
        log(f"QUERY {variable}")
        if variable == "ConfigurationUpdate":
            return f"{model.boot_id},"
        if variable == "CurrentConfigurationVersion":
            return model.version
        return None

    def emit(update):
        svc.freeze_notify()
        svc.notify_value("ConfigurationUpdate", GObject.Value(GObject.TYPE_STRING, update))
        svc.notify_value(
            "CurrentConfigurationVersion", GObject.Value(GObject.TYPE_UINT, model.version)
        )
        svc.thaw_notify()
        log(f"NOTIFY ConfigurationUpdate={update} CurrentConfigurationVersion={model.version}")

    def tick():
        n = int(model.params["/UPnP/DM/X_Test/Counter"]) + 1
        emit(model.update({"/UPnP/DM/X_Test/Counter": str(n)}))
        return True

    svc.connect("action-invoked::GetValues", on_get_values)
    svc.connect("action-invoked::SetValues", on_set_values)
    # PyGObject cannot marshal query-variable's uninitialised GValue* ("TypeError:
    # unknown type (null)"), so that signal is connected through ctypes.
    keep = connect_query_variable(svc, query_variable)  # noqa: F841 (keep the callback alive)
    svc.connect("notify-failed", lambda s, urls, err: log(f"NOTIFY-FAILED {err.message}"))

    dev.set_available(True)
    log(
        f"READY location={dev.get_location()} udn={dev.get_udn()} "
        f"type={dev.get_device_type()} desc={desc}"
    )

    loop = GLib.MainLoop()
    if a.period > 0:
        GLib.timeout_add(int(a.period * 1000), tick)
    if a.run_for > 0:
        GLib.timeout_add(int(a.run_for * 1000), loop.quit)
    for sig in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    loop.run()
    dev.set_available(False)  # sends ssdp:byebye
    # give GSSDP a moment to flush the byebye messages
    ctx2 = GLib.MainContext.default()
    end = GLib.get_monotonic_time() + 300_000
    while GLib.get_monotonic_time() < end:
        ctx2.iteration(False)
    shutil.rmtree(work, ignore_errors=True)
    log("BYE")


if __name__ == "__main__":
    main()
