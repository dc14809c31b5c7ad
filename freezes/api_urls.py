from rest_framework.routers import SimpleRouter

from freezes.api import FreezeViewSet

router = SimpleRouter()
router.register("freezes", FreezeViewSet, basename="freeze")
urlpatterns = router.urls
