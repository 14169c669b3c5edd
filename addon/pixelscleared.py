"""mitmproxy entry point: `mitmdump --mode reverse:URL -s addon/pixelscleared.py --set pixelscleared_config=FILE`.

Works with the package installed (`pip install pixelscleared`) or straight from a checkout.
"""

import sys
from pathlib import Path

try:
    import pixelscleared  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from pixelscleared.addon import PixelsCleared  # noqa: E402

addons = [PixelsCleared()]
