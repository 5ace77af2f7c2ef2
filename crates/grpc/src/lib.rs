//! bawaba-grpc
