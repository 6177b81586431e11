"""Check a generated shot against the set: where its frames sit, whether it kept the camera and the set.

`check(scene, shot, out_dir)` localises every frame in the scene (`localise`), compares the
recovered cameras with the requested ones (`adherence`), the frames with the splat rendered
at those cameras (`consistency`), and writes a report (`report`). See `api` for the stages.
"""

import sys
import types


from splatcine.check.adherence import Adherence
from splatcine.check.api import CheckResult, CheckSettings, Finding, FrameCheck, assess, check
from splatcine.check.consistency import ChangeRegion, FrameScore
from splatcine.check.localise import Localised, localise

__all__ = ["Adherence", "ChangeRegion", "CheckResult", "CheckSettings", "Finding", "FrameCheck", "FrameScore",
           "Localised", "assess", "check", "localise"]


class _CallablePackage(types.ModuleType):
    """`splatcine.check(...)` is the function, yet `splatcine.check` is also this package: importing a
    submodule sets the package as the parent's attribute, so the package itself answers the call."""

    def __call__(self, *args, **kwargs) -> CheckResult:
        return check(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
