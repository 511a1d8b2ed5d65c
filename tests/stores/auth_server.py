"""A Milvus Lite server with authentication, for the "wrong token" test.

Milvus Lite has no users; a secured Milvus checks the ``authorization`` metadata (base64 of
``user:password`` or of an API key) on every call and answers UNAUTHENTICATED otherwise. This wraps the
real Milvus Lite servicer in a gRPC interceptor that does the same. Binds 127.0.0.1 only.

Usage: python auth_server.py DATA_DIR PORT TOKEN
"""
from __future__ import annotations

import base64
import sys
from concurrent import futures

import grpc
from milvus_lite.adapter.grpc.servicer import MilvusServicer
from milvus_lite.db import MilvusLite
from pymilvus.grpc_gen import milvus_pb2_grpc


class TokenCheck(grpc.ServerInterceptor):
    def __init__(self, token: str) -> None:
        self.expected = base64.b64encode(token.encode()).decode()

    def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
        meta = dict(details.invocation_metadata or ())
        if meta.get("authorization") == self.expected:
            return continuation(details)

        def deny(request, context):  # type: ignore[no-untyped-def]
            context.abort(grpc.StatusCode.UNAUTHENTICATED,
                          "auth check failure, please check username, password or API key are correct")

        return grpc.unary_unary_rpc_method_handler(deny)


def main() -> None:
    data_dir, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    db = MilvusLite(data_dir)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[TokenCheck(token)])
    milvus_pb2_grpc.add_MilvusServiceServicer_to_server(MilvusServicer(db), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        server.wait_for_termination()
    finally:
        db.close()


if __name__ == "__main__":
    main()
