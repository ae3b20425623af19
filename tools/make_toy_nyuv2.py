"""Write a small synthetic NYUv2 set in the MTAN/MTPSL .npy layout.

Example:
    python tools/make_toy_nyuv2.py --out-dir data/toy_nyuv2 --num-train 12 \
        --num-val 6 --height 48 --width 64 --seed 0
"""
import argparse

from _bootstrap import PLUGIN_ROOT  # noqa: F401  (puts nexusflow on the path)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Render toy rooms whose labels, depth and normals agree '
        'and write them as <out-dir>/{train,val}/{image,label,depth,normal}/'
        '<idx>.npy.')
    parser.add_argument(
        '--out-dir', default='data/toy_nyuv2', help='output root directory')
    parser.add_argument(
        '--num-train', type=int, default=12, help='training images')
    parser.add_argument(
        '--num-val', type=int, default=6, help='validation images')
    parser.add_argument(
        '--height', type=int, default=48, help='image height in pixels')
    parser.add_argument(
        '--width', type=int, default=64, help='image width in pixels')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed; equal seeds give equal files')
    return parser.parse_args()


def main():
    args = parse_args()
    from nexusflow.datasets.nyuv2_toy import write_toy_nyuv2
    write_toy_nyuv2(
        args.out_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        height=args.height,
        width=args.width,
        seed=args.seed)


if __name__ == '__main__':
    main()
