import warnings

# pyHanko imports cryptography's DSA types, which cryptography marks deprecated; Lantai signs with
# ECDSA and the warning would only clutter the output of `lantai certificate …`
warnings.filterwarnings("ignore", message="DSA is deprecated", module="pyhanko")
