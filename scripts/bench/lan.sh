# A namespace LAN for the benchmark scripts (sourced, root only): a
# bridge in its own namespace, netray's namespace (lan0 = 192.0.2.10,
# 2001:db8::a), N hosts 192.0.2.21.. (eth0, 2001:db8::15..) and a router
# 192.0.2.1. Every interface is made inside a namespace this script owns;
# lan_down (run on EXIT) deletes them all.
#
#   . scripts/bench/lan.sh; lan_up 50; ip netns exec "$LAN_ME" ...; lan_down

LAN_ID="nrb$$"
LAN_ME="${LAN_ID}me"
LAN_NS=()

lan_down() {
  local ns
  for ns in "${LAN_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  LAN_NS=()
}

_lan_node() { # name ifname ipv4 ipv6 mac port
  local ns="$1" ifn="$2" ip4="$3" ip6="$4" mac="$5" port="$6"
  ip netns add "$ns"; LAN_NS+=("$ns")
  ip -n "$ns" link add "$ifn" type veth peer name "$port" netns "${LAN_ID}sw"
  ip -n "${LAN_ID}sw" link set "$port" master br0 up
  ip -n "$ns" link set "$ifn" address "$mac"
  ip -n "$ns" addr add "$ip4/24" dev "$ifn"
  ip -n "$ns" addr add "$ip6/64" dev "$ifn" nodad
  ip -n "$ns" link set "$ifn" up
  ip -n "$ns" link set lo up
}

lan_up() { # hosts
  local n="$1" k
  ip netns add "${LAN_ID}sw"; LAN_NS+=("${LAN_ID}sw")
  ip -n "${LAN_ID}sw" link add br0 type bridge mcast_snooping 0
  ip -n "${LAN_ID}sw" link set br0 up
  _lan_node "$LAN_ME" lan0 192.0.2.10 2001:db8::a 02:00:c0:00:02:0a p0
  _lan_node "${LAN_ID}rt" lan0 192.0.2.1 2001:db8::1 02:00:c0:00:02:01 p1
  for k in $(seq 1 "$n"); do
    local o=$((20 + k))
    _lan_node "${LAN_ID}h$k" eth0 "192.0.2.$o" "2001:db8::$(printf %x "$o")" \
      "$(printf '02:00:c0:00:02:%02x' "$o")" "p$((k + 1))"
  done
}
