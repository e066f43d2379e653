# Sourced by the Slurm tests: a single-node Slurm cluster on this machine, in a temporary folder,
# with its own munge key and socket and ports of its own (so parallel tests do not meet).
#   start_local_slurm DIR   starts munged, slurmctld and slurmd; exports SLURM_CONF; returns 1
#                           (with the reason in $local_slurm_problem) when they cannot start
#   stop_local_slurm        stops the three daemons it started (by their pid files)
start_local_slurm() {
    local dir=$1 host cpus port
    host=$(hostname -s)
    cpus=$(nproc)
    port=$((20000 + ($$ % 5000) * 2))
    mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
    chmod 700 "$dir/munge"
    local_slurm_dir=$dir
    local_slurm_problem=""
    if ! command -v munged >/dev/null || ! command -v slurmctld >/dev/null ||
        ! command -v slurmd >/dev/null; then
        local_slurm_problem="munge or slurm-wlm is not installed (packaging/install-deps.sh)"
        return 1
    fi
    dd if=/dev/urandom of="$dir/munge/key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/key"
    if ! munged --force --key-file="$dir/munge/key" --socket="$dir/munge/socket" \
        --pid-file="$dir/munge/pid" --log-file="$dir/munge/log" --seed-file="$dir/munge/seed" \
        2>"$dir/munge/start.err"; then
        local_slurm_problem="munged did not start: $(tail -2 "$dir/munge/start.err" "$dir/munge/log" 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
    cat >"$dir/slurm.conf" <<CONF
ClusterName=lucidatest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF=$dir/slurm.conf
    if ! slurmctld -f "$SLURM_CONF" -i 2>"$dir/slurmctld.err" ||
        ! slurmd -f "$SLURM_CONF" 2>"$dir/slurmd.err"; then
        local_slurm_problem="slurmctld/slurmd did not start: $(tail -3 "$dir"/slurm*.err "$dir"/slurm*.log 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
    # Bounded wait until the node takes work.
    local i
    for i in $(seq 1 60); do
        if sinfo -h -N -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then return 0; fi
        sleep 0.5
    done
    local_slurm_problem="the node did not come up in 30 s: $(sinfo -h -N -o '%t %E' 2>&1 | head -2 | tr '\n' ' ') $(tail -3 "$dir/slurmd.log" "$dir/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
    return 1
}

stop_local_slurm() {
    local pidfile
    for pidfile in "$local_slurm_dir/slurmd.pid" "$local_slurm_dir/slurmctld.pid" \
        "$local_slurm_dir/munge/pid"; do
        [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    # Bounded wait for them to go, so the folder can be removed.
    for _ in $(seq 1 20); do
        local alive=0
        for pidfile in "$local_slurm_dir/slurmd.pid" "$local_slurm_dir/slurmctld.pid" \
            "$local_slurm_dir/munge/pid"; do
            [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && alive=1
        done
        [ $alive = 0 ] && return 0
        sleep 0.25
    done
}
