"""Configuration for a Janus instance that serves the course's rooms, written as Janus's own
`.jcfg` files: only the VideoRoom plugin and the WebSocket transport, the API bound to one
address and guarded by a secret, rooms created only with the admin key, the admin API off.

Used by the tests (which start Janus themselves) and by `companion janus-config`, which writes
the folder a deployment mounts into its Janus container.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
OTHER_PLUGINS = (
    "audiobridge",
    "duktape",
    "echotest",
    "lua",
    "nosip",
    "recordplay",
    "sip",
    "streaming",
    "textroom",
    "videocall",
    "voicemail",
)
PROTECTED = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sbin", "/sys", "/usr")
OTHER_TRANSPORTS = ("http", "mqtt", "nanomsg", "pfunix", "rabbitmq")


@dataclass(frozen=True)
class JanusConf:
    api_secret: str  # every request to Janus carries it
    admin_key: str  # rooms are created only with it
    ws_port: int = 8188
    ws_ip: str = "127.0.0.1"  # where the companion reaches it; never the browsers
    rtp_ports: tuple[int, int] = (20000, 20999)  # the UDP range to open or forward
    interfaces: str = ""  # ice_enforce_list: interfaces or address prefixes to offer
    public_ip: str = ""  # nat_1_1_mapping: the address browsers reach behind NAT
    stun: str = ""  # host:port of a STUN server, for Janus to learn its public address
    turn: str = ""  # host:port of a TURN server Janus may relay through (coturn)
    turn_user: str = ""
    turn_password: str = ""
    rec_dir: str = ""  # where recordings go (rooms name it again)
    lib: Path = LIB
    debug_level: int = 3


def _q(value: str) -> str:
    return json.dumps(value)  # a libconfig string is a JSON string for what we write


def write(conf: JanusConf, folder: Path) -> Path:
    """Write janus.jcfg and the two configuration files it reads into `folder`; returns the
    path of janus.jcfg (give it to `janus -C`, and `folder` as `-F`)."""
    folder.mkdir(parents=True, exist_ok=True)
    disable_plugins = ",".join(f"libjanus_{p}.so" for p in OTHER_PLUGINS)
    disable_transports = ",".join(f"libjanus_{t}.so" for t in OTHER_TRANSPORTS)
    nat = ["\tignore_mdns = true", "\tnice_debug = false"]
    if conf.interfaces:
        nat.append(f"\tice_enforce_list = {_q(conf.interfaces)}")
    if conf.public_ip:
        nat.append(f"\tnat_1_1_mapping = {_q(conf.public_ip)}")
    if conf.stun:
        host, _, port = conf.stun.rpartition(":")
        nat += [f"\tstun_server = {_q(host)}", f"\tstun_port = {int(port)}"]
    if conf.turn:
        host, _, port = conf.turn.rpartition(":")
        nat += [
            f"\tturn_server = {_q(host)}",
            f"\tturn_port = {int(port)}",
            '\tturn_type = "udp"',
            f"\tturn_user = {_q(conf.turn_user)}",
            f"\tturn_pwd = {_q(conf.turn_password)}",
        ]
    main = f"""general: {{
\tconfigs_folder = {_q(str(folder))}
\tplugins_folder = {_q(str(conf.lib / "plugins"))}
\ttransports_folder = {_q(str(conf.lib / "transports"))}
\tevents_folder = {_q(str(conf.lib / "events"))}
\tloggers_folder = {_q(str(conf.lib / "loggers"))}
\tdebug_level = {conf.debug_level}
\tapi_secret = {_q(conf.api_secret)}
\tsession_timeout = 60
\tadmin_secret = {_q(conf.admin_key)}
\tprotected_folders = [{", ".join(_q(f) for f in PROTECTED)}]
}}
media: {{
\trtp_port_range = "{conf.rtp_ports[0]}-{conf.rtp_ports[1]}"
}}
nat: {{
{chr(10).join(nat)}
}}
plugins: {{
\tdisable = {_q(disable_plugins)}
}}
transports: {{
\tdisable = {_q(disable_transports)}
}}
events: {{
\tbroadcast = false
}}
loggers: {{
\tdisable = "libjanus_jsonlog.so"
}}
"""
    (folder / "janus.jcfg").write_text(main)
    (folder / "janus.transport.websockets.jcfg").write_text(
        f"""general: {{
\tjson = "plain"
\tws = true
\tws_port = {conf.ws_port}
\tws_ip = {_q(conf.ws_ip)}
\twss = false
}}
admin: {{
\tadmin_ws = false
\tadmin_wss = false
}}
"""
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text(
        f"""general: {{
\tadmin_key = {_q(conf.admin_key)}
\tstring_ids = true
\tevents = false
}}
"""
    )
    return folder / "janus.jcfg"


def from_env(env: dict[str, str]) -> JanusConf:
    """The configuration from JANUS_* variables (the compose file's Janus container)."""

    def need(name: str) -> str:
        value = env.get(name, "")
        if not value:
            raise SystemExit(f"janus: set {name} (the same value the companion is given)")
        return value

    lo, _, hi = env.get("JANUS_RTP_PORTS", "20000-20199").partition("-")
    if not (lo.isdigit() and hi.isdigit() and 0 < int(lo) <= int(hi) < 65536):
        raise SystemExit("janus: JANUS_RTP_PORTS must be a range such as 20000-20199")
    return JanusConf(
        api_secret=need("JANUS_API_SECRET"),
        admin_key=need("JANUS_ADMIN_KEY"),
        ws_port=int(env.get("JANUS_WS_PORT", "8188")),
        ws_ip=env.get("JANUS_WS_IP", "0.0.0.0"),
        rtp_ports=(int(lo), int(hi)),
        interfaces=env.get("JANUS_INTERFACES", ""),
        public_ip=env.get("JANUS_PUBLIC_IP", ""),
        stun=env.get("JANUS_STUN", ""),
        turn=env.get("JANUS_TURN", ""),
        turn_user=env.get("JANUS_TURN_USER", ""),
        turn_password=env.get("JANUS_TURN_PASSWORD", ""),
        rec_dir=env.get("JANUS_REC_DIR", ""),
    )


if __name__ == "__main__":  # the Janus container: write the configuration, then become Janus
    import os
    import sys

    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/run/janus")
    cfg = write(from_env(dict(os.environ)), folder)
    os.execvp("janus", ["janus", "-C", str(cfg), "-F", str(folder)])
