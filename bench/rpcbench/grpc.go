package main

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
)

// rawCodec lets gRPC carry plain bytes without protobuf: messages are
// *[]byte. It is a CodecV2, gRPC's own buffer-pooled codec interface, so
// gRPC pays no extra copy for it.
type rawCodec struct{}

func (rawCodec) Name() string { return "raw" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: %T", v)
	}
	*b = data.Materialize()
	return nil
}

// echoService is a hand-written unary service: /bench.Echo/Echo returns its
// request.
var echoService = grpc.ServiceDesc{
	ServiceName: "bench.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			var in []byte
			if err := dec(&in); err != nil {
				return nil, err
			}
			return &in, nil
		},
	}},
}

// grpcTarget is a gRPC server and one ClientConn (one HTTP/2 connection,
// which gRPC multiplexes), insecure credentials.
type grpcTarget struct {
	srv  *grpc.Server
	conn *grpc.ClientConn
	done chan struct{}
}

func newGRPC() (target, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &grpcTarget{srv: grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{})), done: make(chan struct{})}
	t.srv.RegisterService(&echoService, struct{}{})
	go func() {
		defer close(t.done)
		_ = t.srv.Serve(ln)
	}()
	t.conn, err = grpc.NewClient(ln.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		t.srv.Stop()
		return nil, err
	}
	return t, nil
}

func (t *grpcTarget) caller() (func([]byte) error, error) {
	ctx := context.Background()
	return func(msg []byte) error {
		var out []byte
		if err := t.conn.Invoke(ctx, "/bench.Echo/Echo", &msg, &out); err != nil {
			return err
		}
		if len(out) != len(msg) {
			return fmt.Errorf("echo of %d bytes returned %d", len(msg), len(out))
		}
		return nil
	}, nil
}

func (t *grpcTarget) close() {
	t.conn.Close()
	t.srv.Stop()
	<-t.done
}
