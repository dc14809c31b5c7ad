from rest_framework.routers import SimpleRouter

from policies.api import PolicyVersionViewSet

router = SimpleRouter()
router.register("policy-versions", PolicyVersionViewSet, basename="policy-version")
urlpatterns = router.urls
