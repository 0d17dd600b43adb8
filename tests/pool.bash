# A job pool for the test runners (sourced; the .bash suffix keeps it out
# of the runners' *.sh globs): jobs run side by side, each one's output held
# in a file, and handed back whole in the order they were added, whatever
# order they end in, so the log reads as if they had run one after another.
#
#   pool_init JOBS          at most JOBS jobs at a time; with TEST_SLOTS set
#                           (a FIFO holding one byte per slot, see
#                           run-all.sh) the slots are shared with the other
#                           runners that use it, and JOBS is ignored
#   pool_add NAME CMD...    a job (not started yet)
#   pool_run ORDER... DONE  start the jobs, ORDER the indices (from 0, as
#                           added) in the order to start them; each job's
#                           end calls DONE NAME STATUS SECONDS OUTFILE, in
#                           the order added
#
# A job gives its slot back itself when it ends, so that runners sharing
# the slots never wait on each other.

POOL_NAMES=()
POOL_CMDS=()

pool_init() {
	POOL_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vigil-pool.XXXXXX")
	trap 'rm -rf "$POOL_DIR"' EXIT
	if [ -n "${TEST_SLOTS:-}" ]; then
		exec 7<>"$TEST_SLOTS"
	else
		mkfifo "$POOL_DIR/slots"
		exec 7<>"$POOL_DIR/slots"
		local i
		for ((i = 0; i < $1; i++)); do printf x >&7; done
	fi
}

pool_add() {
	POOL_NAMES+=("$1")
	shift
	POOL_CMDS+=("$(printf '%q ' "$@")")
}

# pool_done_next DONE: hand back the jobs that ended, in the order added,
# up to the first one still running.
POOL_NEXT=0
pool_done_next() {
	local st secs
	while [ "$POOL_NEXT" -lt "${#POOL_NAMES[@]}" ] && [ -f "$POOL_DIR/$POOL_NEXT.end" ]; do
		read -r st secs <"$POOL_DIR/$POOL_NEXT.end"
		"$1" "${POOL_NAMES[$POOL_NEXT]}" "$st" "$secs" "$POOL_DIR/$POOL_NEXT.out"
		POOL_NEXT=$((POOL_NEXT + 1))
	done
}

pool_run() {
	local done_cb=${*: -1} i slot
	for i in "${@:1:$#-1}"; do
		# Take a slot, waiting as long as it takes: a job that ends gives
		# its slot back, and then what has ended is handed back. (No
		# timeout: bash's read -t can drop a byte it read as it times out,
		# and the slot with it.)
		read -r -n 1 -u 7 slot
		pool_done_next "$done_cb"
		(
			t0=$SECONDS
			eval "${POOL_CMDS[$i]}" >"$POOL_DIR/$i.out" 2>&1 7>&-
			echo "$? $((SECONDS - t0))" >"$POOL_DIR/$i.end.new"
			mv "$POOL_DIR/$i.end.new" "$POOL_DIR/$i.end"
			printf x >&7
		) &
	done
	while [ "$POOL_NEXT" -lt "${#POOL_NAMES[@]}" ]; do
		pool_done_next "$done_cb"
		sleep 0.2
	done
	wait
	exec 7>&-
}
