"""A desktop's notification server (org.freedesktop.Notifications), for test/support/desktopNotifications.ts.

Chromium on Linux hands a site's notifications to this D-Bus service, as it would to a desktop's: each `Notify` is
written to stdout as a JSON line. A line `{"click": id}` on stdin is the customer clicking notification `id`: the
server emits `ActionInvoked(id, "default")`, which Chromium takes as a real click on it. Stops when stdin closes.
"""
import json
import sys

from gi.repository import Gio, GLib

NAME = 'org.freedesktop.Notifications'
PATH = '/org/freedesktop/Notifications'
INTERFACE = Gio.DBusNodeInfo.new_for_xml('''
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="GetCapabilities"><arg direction="out" type="as"/></method>
    <method name="GetServerInformation">
      <arg direction="out" type="s"/><arg direction="out" type="s"/>
      <arg direction="out" type="s"/><arg direction="out" type="s"/>
    </method>
    <method name="Notify">
      <arg direction="in" type="s"/><arg direction="in" type="u"/><arg direction="in" type="s"/>
      <arg direction="in" type="s"/><arg direction="in" type="s"/><arg direction="in" type="as"/>
      <arg direction="in" type="a{sv}"/><arg direction="in" type="i"/><arg direction="out" type="u"/>
    </method>
    <method name="CloseNotification"><arg direction="in" type="u"/></method>
    <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
    <signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
  </interface>
</node>''').interfaces[0]

shown = 0


def say(event):
    print(json.dumps(event), flush=True)


def on_call(connection, sender, path, interface, method, params, invocation):
    global shown
    if method == 'GetCapabilities':
        invocation.return_value(GLib.Variant('(as)', (['actions', 'body', 'persistence'],)))
    elif method == 'GetServerInformation':
        invocation.return_value(GLib.Variant('(ssss)', ('test-desktop', 'genesys-bff', '1', '1.2')))
    elif method == 'Notify':
        app, replaces, icon, summary, body, actions, hints, timeout = params.unpack()
        shown = replaces or shown + 1
        say({'notify': shown, 'summary': summary, 'body': body, 'actions': actions[::2]})
        invocation.return_value(GLib.Variant('(u)', (shown,)))
    elif method == 'CloseNotification':
        (closed,) = params.unpack()
        say({'closed': closed})
        invocation.return_value(None)


def on_line(channel, condition):
    line = sys.stdin.readline()
    if not line:
        loop.quit()
        return False
    command = json.loads(line)
    bus.emit_signal(None, PATH, NAME, 'ActionInvoked', GLib.Variant('(us)', (command['click'], 'default')))
    bus.flush_sync(None)
    say({'clicked': command['click']})
    return True


bus = Gio.DBusConnection.new_for_address_sync(
    sys.argv[1],
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
    None,
    None,
)
bus.register_object(PATH, INTERFACE, on_call, None, None)
Gio.bus_own_name_on_connection(
    bus,
    NAME,
    Gio.BusNameOwnerFlags.DO_NOT_QUEUE,
    lambda connection, name: say({'ready': True}),
    lambda connection, name: say({'lost': name}),
)
GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP, on_line)
loop = GLib.MainLoop()
loop.run()
