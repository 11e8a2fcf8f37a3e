"""The Janus configuration the product writes: only VideoRoom and WebSockets, the API on one
address behind a secret, rooms only with the admin key, the admin API off; and the container's
settings from the environment, refused with the variable named when one is missing."""

import pytest

from server.media.janus_conf import JanusConf, from_env, write


def test_written_configuration_keeps_janus_closed(tmp_path):
    conf = JanusConf(
        api_secret="s",
        admin_key="k",
        ws_port=9999,
        rtp_ports=(30000, 30099),
        interfaces="eth1",
        public_ip="203.0.113.7",
        turn="turn.example:3478",
        turn_user="u",
        turn_password="p",
    )
    main = write(conf, tmp_path).read_text()
    assert 'api_secret = "s"' in main and 'rtp_port_range = "30000-30099"' in main
    assert 'ice_enforce_list = "eth1"' in main and 'nat_1_1_mapping = "203.0.113.7"' in main
    assert 'turn_server = "turn.example"' in main and "turn_port = 3478" in main
    for plugin in ("echotest", "streaming", "sip", "recordplay"):
        assert f"libjanus_{plugin}.so" in main
    assert "libjanus_http.so" in main  # only the WebSocket transport stays
    ws = (tmp_path / "janus.transport.websockets.jcfg").read_text()
    assert "ws_port = 9999" in ws and 'ws_ip = "127.0.0.1"' in ws and "admin_ws = false" in ws
    room = (tmp_path / "janus.plugin.videoroom.jcfg").read_text()
    assert 'admin_key = "k"' in room and "string_ids = true" in room


def test_a_quote_in_a_secret_cannot_break_out_of_its_string(tmp_path):
    main = write(JanusConf(api_secret='a"; admin = 1; "', admin_key="k"), tmp_path).read_text()
    assert 'api_secret = "a\\"; admin = 1; \\""' in main


def test_container_settings_from_the_environment():
    conf = from_env({"JANUS_API_SECRET": "s", "JANUS_ADMIN_KEY": "k", "JANUS_RTP_PORTS": "1-2"})
    assert conf.rtp_ports == (1, 2) and conf.ws_ip == "0.0.0.0"
    with pytest.raises(SystemExit, match="JANUS_API_SECRET"):
        from_env({"JANUS_ADMIN_KEY": "k"})
    with pytest.raises(SystemExit, match="JANUS_RTP_PORTS"):
        from_env({"JANUS_API_SECRET": "s", "JANUS_ADMIN_KEY": "k", "JANUS_RTP_PORTS": "9-1"})
