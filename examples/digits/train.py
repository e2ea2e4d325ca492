#!/usr/bin/python3
"""Train the Go digits example's weights from scikit-learn's bundled digits data.

A multinomial logistic regression on the 8x8 digit images (pixel values 0..16)
is exactly a 64x10 weight matrix and 10 biases, which the Go example applies
with a softmax. Run from the repository root:

    /usr/bin/python3 examples/digits/train.py --C 0.001 --out examples/digits/model/v1/weights.json
    /usr/bin/python3 examples/digits/train.py --C 1.0   --out examples/digits/model/v2/weights.json
    /usr/bin/python3 examples/digits/train.py --samples examples/digits/samples.json

Needs Debian's python3-sklearn. The output is deterministic for a given --C.
"""
import argparse
import json

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    ap.add_argument("--out", help="where to write the weights JSON")
    ap.add_argument("--samples", help="where to write held-out sample images with their labels")
    args = ap.parse_args()

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=7, stratify=digits.target)

    if args.out:
        clf = LogisticRegression(C=args.C, max_iter=5000)
        clf.fit(x_train, y_train)
        acc = float(clf.score(x_test, y_test))
        out = {
            "classes": [int(c) for c in clf.classes_],
            "coef": [[round(float(w), 8) for w in row] for row in clf.coef_],
            "intercept": [round(float(b), 8) for b in clf.intercept_],
            "C": args.C,
            "test_accuracy": round(acc, 4),
        }
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
        print(f"wrote {args.out}: C={args.C} held-out accuracy {acc:.4f}")

    if args.samples:
        samples = [{"label": int(y), "ints": [int(p) for p in x]} for x, y in zip(x_test[:10], y_test[:10])]
        with open(args.samples, "w") as f:
            json.dump(samples, f)
            f.write("\n")
        print(f"wrote {len(samples)} samples to {args.samples}")


if __name__ == "__main__":
    main()
