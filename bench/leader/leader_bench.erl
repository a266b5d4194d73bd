%% The leader pattern of the seeds on Erlang's global: every node tries to
%% register the name; the one that succeeds leads; the others monitor the
%% holder and try again when it goes. bench/leader starts N of these and
%% times, from the leader's SIGKILL or SIGSTOP, the LEADER line of another.
-module(leader_bench).
-export([start/1]).

start(Peers) ->
    spawn(fun() -> connect(Peers) end).

connect(Peers) ->
    [net_adm:ping(P) || P <- Peers, P =/= node()],
    case length(nodes()) + 1 >= length(Peers) of
        true ->
            global:sync(),
            io:format("READY ~s~n", [node()]),
            contend();
        false ->
            timer:sleep(20),
            connect(Peers)
    end.

contend() ->
    case global:register_name(lb_leader, self()) of
        yes ->
            io:format("LEADER ~s~n", [node()]),
            receive stop -> ok end;
        no ->
            case global:whereis_name(lb_leader) of
                undefined ->
                    timer:sleep(5),
                    contend();
                Pid ->
                    Ref = erlang:monitor(process, Pid),
                    receive {'DOWN', Ref, _, _, _} -> contend() end
            end
    end.
