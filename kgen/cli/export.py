"""Export a .keras model as a SavedModel or an ONNX file, served without Keras or kgen.

Works on every backend: under JAX and PyTorch, kgen converts the model in a
TensorFlow process. Load a SavedModel with tf.saved_model.load(OUTPUT) and
call its functions: generate(z) for GANs and DCGANs, generate(z, labels) for
conditional GANs, decode(z) and encode(images) for VAEs, stylize(content,
style, alpha) for AdaIN style networks. With --format onnx, OUTPUT is one
.onnx file holding one of these functions (--endpoint, default the first:
generate, decode or stylize), whose inputs and outputs keep their names; run
it with onnxruntime.
"""

import argparse

from kgen.cli.arguments import add_subcommand, check_output_path

EPILOG = """\
examples:
  kgen export runs/dcgan/dcgan.keras saved_models/dcgan
  kgen export runs/dcgan/dcgan.keras dcgan.onnx --format onnx
  kgen export runs/vae/vae.keras vae_encoder.onnx --format onnx --endpoint encode
  kgen export runs/style-network/adain.keras saved_models/adain --backend torch
"""


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    parser = add_subcommand(subparsers, "export", __doc__, common, epilog=EPILOG)
    parser.add_argument("model", metavar="MODEL", help="the .keras file")
    parser.add_argument(
        "saved_model",
        metavar="OUTPUT",
        help="the SavedModel directory, or the .onnx file with --format onnx",
    )
    parser.add_argument(
        "--format",
        choices=("tf_saved_model", "onnx"),
        default="tf_saved_model",
        help="what to write (default: %(default)s)",
    )
    parser.add_argument(
        "--endpoint",
        help="with --format onnx: the function the file holds (e.g. encode for "
        "a VAE's encoder; default: the model's first)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    if args.endpoint is not None and args.format != "onnx":
        raise ValueError("--endpoint needs --format onnx (a SavedModel holds them all)")
    # Before loading the model: a bad target fails at once, in one line.
    check_output_path(args.saved_model, "OUTPUT")
    from kgen import runs
    from kgen.loading import load_keras_model
    from kgen.models import Model

    runs.refuse_to_overwrite(args.saved_model, args.overwrite)
    model = load_keras_model(
        args.model,
        want="a kgen GAN, DCGAN, ConditionalGAN, VAE or AdaINStyleTransfer",
        check=lambda model: isinstance(model, Model) and bool(model.export_endpoints()),
    )
    # Prints where it wrote what.
    model.export(args.saved_model, format=args.format, endpoint=args.endpoint)
