#!/usr/bin/env escript
%%! -name names_bench@127.0.0.1 -setcookie names_bench -kernel inet_dist_use_interface {127,0,0,1}
%% The Erlang side of bench/names: :global and pg on N local nodes.
%% Usage: escript erlang.escript N SEQ CONC WORKERS
%% Prints "key value" lines; the Go command reads them.
-mode(compile).

main([NS, SeqS, ConcS, WS]) ->
    N = list_to_integer(NS), Seq = list_to_integer(SeqS),
    Conc = list_to_integer(ConcS), W = list_to_integer(WS),
    Peers = [start_peer(I) || I <- lists:seq(1, N - 1)],
    Nodes = [node() | [P || {_, P} <- Peers]],
    [pong = net_adm:ping(A) || A <- Nodes],
    [erpc:call(A, net_kernel, connect_node, [B]) || A <- Nodes, B <- Nodes, A =/= B],
    ok = global:sync(),
    [erpc:call(A, pg, start, [pg]) || A <- Nodes, A =/= node()],
    pg:start(pg),
    seq_register(Seq),
    conc_register(Nodes, Conc, W),
    whereis_ns(),
    pg_bench(Nodes, Seq),
    [peer:stop(P) || {P, _} <- Peers],
    ok.

start_peer(I) ->
    Name = list_to_atom("names_bench_" ++ integer_to_list(I)),
    {ok, P, Node} = peer:start_link(#{name => Name, host => "127.0.0.1", longnames => true,
        args => ["-setcookie", "names_bench", "-kernel", "inet_dist_use_interface", "{127,0,0,1}"]}),
    {P, Node}.

now_ns() -> erlang:monotonic_time(nanosecond).

pct(L, P) ->
    S = lists:sort(L),
    lists:nth(max(1, min(length(S), round(P * length(S)))), S).

%% Sequential registrations on this node: latency of each. register_name
%% returns once every node has the name, so this is also the time to be
%% visible everywhere.
seq_register(K) ->
    Pids = [spawn(timer, sleep, [infinity]) || _ <- lists:seq(1, K)],
    Ls = [begin
              Name = {seq, I},
              T0 = now_ns(),
              yes = global:register_name(Name, Pid),
              now_ns() - T0
          end || {I, Pid} <- lists:zip(lists:seq(1, K), Pids)],
    io:format("global_register_p50_us ~.1f~n", [pct(Ls, 0.5) / 1000]),
    io:format("global_register_p99_us ~.1f~n", [pct(Ls, 0.99) / 1000]),
    [global:unregister_name({seq, I}) || I <- lists:seq(1, K)].

%% Concurrent registrations from W workers spread over every node.
conc_register(Nodes, K, W) ->
    Parent = self(),
    NNodes = length(Nodes),
    Workers = [spawn_link(fun() ->
                   Node = lists:nth(1 + (J rem NNodes), Nodes),
                   Pids = [erpc:call(Node, erlang, spawn, [timer, sleep, [infinity]])
                           || _ <- lists:seq(1, K div W)],
                   Parent ! {ready, self()},
                   receive go -> ok end,
                   [yes = erpc:call(Node, global, register_name, [{conc, J, I}, Pid])
                    || {I, Pid} <- lists:zip(lists:seq(1, K div W), Pids)],
                   Parent ! {done, self()}
               end) || J <- lists:seq(1, W)],
    [receive {ready, P} -> ok end || P <- Workers],
    T0 = now_ns(),
    [P ! go || P <- Workers],
    [receive {done, P} -> ok end || P <- Workers],
    Secs = (now_ns() - T0) / 1.0e9,
    io:format("global_register_per_s ~.1f~n", [(K div W) * W / Secs]).

%% whereis_name on this node.
whereis_ns() ->
    yes = global:register_name(probe, spawn(timer, sleep, [infinity])),
    M = 1000000,
    T0 = now_ns(),
    loop_whereis(M),
    io:format("global_whereis_ns ~.1f~n", [(now_ns() - T0) / M]).

loop_whereis(0) -> ok;
loop_whereis(M) -> global:whereis_name(probe), loop_whereis(M - 1).

%% pg: join latency on this node, time until every node sees the join,
%% get_members on this node.
pg_bench(Nodes, K) ->
    Others = Nodes -- [node()],
    Pid = self(),
    Ls = [begin
              T0 = now_ns(),
              ok = pg:join({g, I}, Pid),
              now_ns() - T0
          end || I <- lists:seq(1, K)],
    io:format("pg_join_p50_us ~.1f~n", [pct(Ls, 0.5) / 1000]),
    Vis = [begin
               G = {v, I},
               T0 = now_ns(),
               ok = pg:join(G, Pid),
               [wait_member(O, G, Pid) || O <- Others],
               now_ns() - T0
           end || I <- lists:seq(1, 200)],
    io:format("pg_visible_p50_us ~.1f~n", [pct(Vis, 0.5) / 1000]),
    io:format("pg_visible_p99_us ~.1f~n", [pct(Vis, 0.99) / 1000]),
    M = 1000000,
    T1 = now_ns(),
    loop_members(M),
    io:format("pg_get_members_ns ~.1f~n", [(now_ns() - T1) / M]).

wait_member(Node, G, Pid) ->
    case lists:member(Pid, erpc:call(Node, pg, get_members, [G])) of
        true -> ok;
        false -> wait_member(Node, G, Pid)
    end.

loop_members(0) -> ok;
loop_members(M) -> pg:get_members({g, 1}), loop_members(M - 1).
