# Sourced by scripts/demo.sh and bench/kafka.sh: start_embedded_broker ARGS...
# starts `./vigil broker ARGS` with its standard input on fd 9 (commands),
# sets BROKERS to its bootstrap servers and BROKER_PID, and stop_embedded_broker
# stops it. The caller owns the temporary directory $tmp.
start_embedded_broker() {
	mkfifo "$tmp/broker.in"
	./vigil broker "$@" <"$tmp/broker.in" >"$tmp/broker.out" 2>"$tmp/broker.err" &
	BROKER_PID=$!
	exec 9>"$tmp/broker.in"
	for _ in $(seq 100); do [ -s "$tmp/broker.out" ] && break; sleep 0.1; done
	BROKERS=$(head -n 1 "$tmp/broker.out")
	[ -n "$BROKERS" ] || { echo "embedded broker did not start: $(cat "$tmp/broker.err")" >&2; return 1; }
}

stop_embedded_broker() {
	[ -n "${BROKER_PID:-}" ] && kill -TERM "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
	exec 9>&- 2>/dev/null || true
	BROKER_PID=""
}
