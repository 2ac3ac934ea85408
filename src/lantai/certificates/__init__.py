import logging
import warnings

# pyHanko imports cryptography's DSA types, which cryptography marks deprecated; Lantai signs with
# ECDSA and the warning would only clutter the output of `lantai certificate …`
warnings.filterwarnings("ignore", message="DSA is deprecated", module="pyhanko")
# pyHanko logs a traceback for every signature it cannot trust; verification reports that itself
logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
