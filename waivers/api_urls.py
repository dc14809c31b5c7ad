from rest_framework.routers import SimpleRouter

from waivers.api import WaiverViewSet

router = SimpleRouter()
router.register("waivers", WaiverViewSet, basename="waiver")
urlpatterns = router.urls
