"""The wire: the codec between row states and protobuf messages (codec) and
the generated protobuf modules (gen, made by ``make proto`` from ``proto/``)."""
